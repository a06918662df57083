#include "flows/mlp_field.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>

#include "ot/exact.h"
#include "util/error.h"
#include "util/parallel.h"
#include "util/rng.h"

namespace tl {

namespace {

constexpr int kTimeFeatures = 1 + 2 * MlpField::kFourierFrequencies;
// Columns per chunk of the batched passes. Fixed (not per thread) so that gradients are summed in the same
// order whatever the thread count: results depend on the seed only.
constexpr Eigen::Index kTrainChunk = 64;
constexpr Eigen::Index kEvalChunk = 256;

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

void checkArchitecture(const MlpFieldOptions& opt) {
    if (opt.hidden < 1 || opt.hidden > 4096)
        throw Error("MlpFieldOptions.hidden must be in 1..4096 (got " + std::to_string(opt.hidden) + ")");
    if (opt.layers < 1 || opt.layers > 16)
        throw Error("MlpFieldOptions.layers must be in 1..16 (got " + std::to_string(opt.layers) + ")");
    if (opt.threads < 0) throw Error("MlpFieldOptions.threads must be >= 0 (got " + std::to_string(opt.threads) + ")");
}

void checkTraining(const MlpFieldOptions& opt) {
    checkArchitecture(opt);
    if (opt.iterations < 1) throw Error("MlpFieldOptions.iterations must be >= 1 (got " + std::to_string(opt.iterations) + ")");
    const int maxBatch = opt.coupling == MlpFieldOptions::Coupling::MinibatchOt ? 4096 : 65536;
    if (opt.batch < 1 || opt.batch > maxBatch)
        throw Error("MlpFieldOptions.batch must be in 1.." + std::to_string(maxBatch) + " (got " + std::to_string(opt.batch) +
                    ")");
    if (!(opt.learningRate > 0) || !std::isfinite(opt.learningRate))
        throw Error("MlpFieldOptions.learningRate must be a finite number > 0 (got " + num(opt.learningRate) + ")");
    if (!(opt.finalLearningRateFactor > 0 && opt.finalLearningRateFactor <= 1))
        throw Error("MlpFieldOptions.finalLearningRateFactor must be in (0, 1] (got " + num(opt.finalLearningRateFactor) + ")");
}

// Walker/Vose alias table: O(1) draws of an index i with probability w_i / sum(w).
class AliasTable {
public:
    explicit AliasTable(const std::vector<double>& w) : prob_(w.size()), alias_(w.size()) {
        const std::size_t n = w.size();
        double sum = 0;
        for (double x : w) sum += x;
        std::vector<double> p(n);
        std::vector<std::size_t> small, large;
        for (std::size_t i = 0; i < n; ++i) {
            p[i] = w[i] / sum * static_cast<double>(n);
            (p[i] < 1 ? small : large).push_back(i);
        }
        while (!small.empty() && !large.empty()) {
            const std::size_t s = small.back(), l = large.back();
            small.pop_back();
            prob_[s] = p[s];
            alias_[s] = l;
            p[l] -= 1 - p[s];
            if (p[l] < 1) {
                large.pop_back();
                small.push_back(l);
            }
        }
        // Leftovers (rounding) keep themselves with probability 1.
        for (std::size_t i : large) prob_[i] = 1, alias_[i] = i;
        for (std::size_t i : small) prob_[i] = 1, alias_[i] = i;
    }
    std::size_t draw(Rng& rng) const {
        const std::size_t i = static_cast<std::size_t>(rng.below(prob_.size()));
        return rng.uniform() < prob_[i] ? i : alias_[i];
    }

private:
    std::vector<double> prob_;
    std::vector<std::size_t> alias_;
};

using Layer = detail::MlpLayerShape;

template <typename S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <typename S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;

template <typename S>
Eigen::Map<const Mat<S>> weights(const Vec<S>& theta, const Layer& L) {
    return {theta.data() + L.offset, L.out, L.in};
}
template <typename S>
Eigen::Map<const Vec<S>> biases(const Vec<S>& theta, const Layer& L) {
    return {theta.data() + L.offset + static_cast<Eigen::Index>(L.out) * L.in, L.out};
}

// One chunk's network input and the activations backprop needs.
template <typename S>
struct Pass {
    Mat<S> features;             // (d + kTimeFeatures) x n: x, then t, sin(2 pi k t), cos(2 pi k t)
    std::vector<Mat<S>> z, sig;  // per hidden layer: pre-activation and sigmoid(z)
    std::vector<Mat<S>> act;     // per hidden layer: SiLU(z) = z * sigmoid(z)
    Mat<S> out;                  // d x n, unit-scale coordinates
};

// Fills p.features for the columns xt (d x n) at times t[0..n).
template <typename S, typename Derived>
void setFeatures(Pass<S>& p, const double* t, const Eigen::MatrixBase<Derived>& xt) {
    const Eigen::Index d = xt.rows(), n = xt.cols();
    p.features.resize(d + kTimeFeatures, n);
    p.features.topRows(d) = xt.template cast<S>();
    for (Eigen::Index j = 0; j < n; ++j) {
        S* f = p.features.col(j).data() + d;
        f[0] = static_cast<S>(t[j]);
        for (int k = 1; k <= MlpField::kFourierFrequencies; ++k) {
            const double a = 2 * std::numbers::pi * k * t[j];
            f[2 * k - 1] = static_cast<S>(std::sin(a));
            f[2 * k] = static_cast<S>(std::cos(a));
        }
    }
}

// Runs the network on p.features into p.out; keeps z, sigmoid(z) and the activations when `keep`.
template <typename S>
void forward(const std::vector<Layer>& layers, const Vec<S>& theta, Pass<S>& p, bool keep) {
    const int hidden = static_cast<int>(layers.size()) - 1;
    if (keep) {
        p.z.resize(hidden);
        p.sig.resize(hidden);
        p.act.resize(hidden);
    }
    Mat<S> a, z, sig;
    for (int l = 0; l < hidden; ++l) {
        z.noalias() = weights(theta, layers[l]) * (l == 0 ? p.features : a);
        z.colwise() += biases(theta, layers[l]);
        sig = (S(1) + (-z.array()).exp()).inverse().matrix();
        a = (z.array() * sig.array()).matrix();
        if (keep) {
            p.z[l] = z;
            p.sig[l] = sig;
            p.act[l] = a;
        }
    }
    p.out.noalias() = weights(theta, layers.back()) * (hidden == 0 ? p.features : a);
    p.out.colwise() += biases(theta, layers.back());
}

// Accumulates d(loss)/d(theta) into grad given g = d(loss)/d(out) (d x n): per layer, top down,
// dW += g in^T, db += g 1, then g <- (W^T g) .* SiLU'(z) for the layer below.
template <typename S>
void backward(const std::vector<Layer>& layers, const Vec<S>& theta, const Pass<S>& p, Mat<S> g, S* grad) {
    const int hidden = static_cast<int>(layers.size()) - 1;
    Mat<S> back;
    for (int l = hidden; l >= 0; --l) {
        const Layer& L = layers[l];
        const Mat<S>& in = l == 0 ? p.features : p.act[l - 1];
        Eigen::Map<Mat<S>> gW(grad + L.offset, L.out, L.in);
        Eigen::Map<Vec<S>> gb(grad + L.offset + static_cast<Eigen::Index>(L.in) * L.out, L.out);
        gW.noalias() += g * in.transpose();
        gb += g.rowwise().sum();
        if (l == 0) break;
        // d SiLU(z)/dz = s (1 + z (1 - s)), s = sigmoid(z).
        const auto s = p.sig[l - 1].array();
        back.noalias() = weights(theta, L).transpose() * g;
        g = (back.array() * s * (S(1) + p.z[l - 1].array() * (S(1) - s))).matrix();
    }
}

}  // namespace

void MlpField::requireInitialized() const {
    if (dim_ < 1 || layers_.empty()) throw Error("MlpField: the field is not trained (call train() first)");
}

void MlpField::initialize(int dim, const MlpFieldOptions& opt) {
    if (dim < 1 || dim > 3) throw Error("MlpField: dimension must be 1, 2 or 3 (got " + std::to_string(dim) + ")");
    checkArchitecture(opt);
    dim_ = dim;
    layers_.clear();
    Eigen::Index offset = 0;
    int in = dim + kTimeFeatures;
    for (int l = 0; l <= opt.layers; ++l) {
        const int out = l == opt.layers ? dim : opt.hidden;
        layers_.push_back({in, out, offset});
        offset += static_cast<Eigen::Index>(in) * out + out;
        in = out;
    }
    theta_.setZero(offset);
    Rng rng(opt.seed);
    for (const Layer& L : layers_) {
        // Xavier (Glorot) normal: keeps activation variance O(1) through SiLU layers at unit-scale inputs.
        const double sd = std::sqrt(2.0 / (L.in + L.out));
        for (Eigen::Index k = 0; k < static_cast<Eigen::Index>(L.in) * L.out; ++k) theta_[L.offset + k] = sd * rng.normal();
    }
    center_ = Eigen::VectorXd::Zero(dim);
    scale_ = 1;
    steps_ = 0;
    history_.clear();
}

void MlpField::setParameters(const Eigen::VectorXd& theta) {
    requireInitialized();
    if (theta.size() != theta_.size())
        throw Error("MlpField: expected " + std::to_string(theta_.size()) + " parameters, got " + std::to_string(theta.size()));
    theta_ = theta;
}

double MlpField::lastLoss() const {
    if (history_.empty()) return 0;
    const std::size_t window = std::clamp<std::size_t>(history_.size() / 10, 1, 200);
    double s = 0;
    for (std::size_t i = history_.size() - window; i < history_.size(); ++i) s += history_[i];
    return s / static_cast<double>(window);
}

template <typename S>
double MlpField::normalizedLossAndGradient(const Eigen::VectorXd& t, const Eigen::MatrixXd& xt, const Eigen::MatrixXd& u,
                                           Eigen::VectorXd* grad, int threads) const {
    const Eigen::Index B = xt.cols();
    const Eigen::Index chunks = (B + kTrainChunk - 1) / kTrainChunk;
    const Eigen::Index P = theta_.size();
    const Vec<S> theta = theta_.cast<S>();
    Mat<S> chunkGrad;
    if (grad) chunkGrad.setZero(P, chunks);
    std::vector<double> chunkLoss(chunks, 0.0);
    const double invB = 1.0 / static_cast<double>(B);
    parallelFor(static_cast<std::size_t>(chunks), 1, threads, [&](std::size_t c0, std::size_t c1) {
        Pass<S> p;
        for (std::size_t c = c0; c < c1; ++c) {
            const Eigen::Index b = static_cast<Eigen::Index>(c) * kTrainChunk, n = std::min(kTrainChunk, B - b);
            setFeatures(p, t.data() + b, xt.middleCols(b, n));
            forward(layers_, theta, p, grad != nullptr);
            const Mat<S> r = p.out - u.middleCols(b, n).cast<S>();
            chunkLoss[c] = static_cast<double>(r.template cast<double>().squaredNorm()) * invB;
            if (grad)
                backward<S>(layers_, theta, p, static_cast<S>(2.0 * invB) * r,
                            chunkGrad.col(static_cast<Eigen::Index>(c)).data());
        }
    });
    double loss = 0;
    for (double l : chunkLoss) loss += l;
    if (grad) *grad = chunkGrad.template cast<double>().rowwise().sum();
    return loss;
}

double MlpField::lossAndGradient(const Eigen::VectorXd& t, const Eigen::MatrixXd& x0, const Eigen::MatrixXd& x1,
                                 Eigen::VectorXd* grad, int threads) const {
    requireInitialized();
    if (x0.cols() != dim_ || x1.cols() != dim_ || x0.rows() != x1.rows() || t.size() != x0.rows() || t.size() == 0)
        throw Error("MlpField::lossAndGradient: expected t (B), x0 and x1 (B x " + std::to_string(dim_) + ") with B >= 1");
    const Eigen::MatrixXd xt =
        (((x0.array().colwise() * (1.0 - t.array())) + (x1.array().colwise() * t.array())).matrix().rowwise() -
         center_.transpose())
            .transpose() /
        scale_;
    const Eigen::MatrixXd u = (x1 - x0).transpose() / scale_;
    // Network output is in units of scale_: v = s * out, so loss = s^2 * normalised loss (and likewise the gradient).
    const double s2 = scale_ * scale_;
    const double loss = normalizedLossAndGradient<double>(t, xt, u, grad, threads);
    if (grad) *grad *= s2;
    return loss * s2;
}

Eigen::MatrixXd MlpField::velocity(double t, const Eigen::MatrixXd& x, int threads) const {
    requireInitialized();
    if (x.cols() != dim_)
        throw Error("MlpField::velocity: points have " + std::to_string(x.cols()) + " columns, the field is " +
                    std::to_string(dim_) + "-D");
    const Eigen::Index n = x.rows();
    Eigen::MatrixXd v(n, dim_);
    if (n == 0) return v;
    const Vec<float> theta = theta_.cast<float>();
    const Eigen::Index chunks = (n + kEvalChunk - 1) / kEvalChunk;
    parallelFor(static_cast<std::size_t>(chunks), 1, threads, [&](std::size_t c0, std::size_t c1) {
        Pass<float> p;
        Eigen::MatrixXd xt;
        const std::vector<double> tv(static_cast<std::size_t>(kEvalChunk), t);
        for (std::size_t c = c0; c < c1; ++c) {
            const Eigen::Index b = static_cast<Eigen::Index>(c) * kEvalChunk, m = std::min(kEvalChunk, n - b);
            xt = ((x.middleRows(b, m).rowwise() - center_.transpose()) / scale_).transpose();
            setFeatures(p, tv.data(), xt);
            forward(layers_, theta, p, false);
            v.middleRows(b, m) = scale_ * p.out.transpose().cast<double>();
        }
    });
    return v;
}

void MlpField::train(const PointCloud& source, const PointCloud& target, const MlpFieldOptions& opt,
                     const std::function<bool(int, double)>& progress) {
    source.validate("source");
    target.validate("target");
    if (source.dim != target.dim)
        throw Error("flow matching: dimension mismatch: source is " + std::to_string(source.dim) + "-D, target is " +
                    std::to_string(target.dim) + "-D");
    checkTraining(opt);
    const int d = source.dim;
    initialize(d, opt);

    // Normalisation: centre between the two means, isotropic scale = RMS per-coordinate deviation of the
    // 50/50 mixture from that centre (keeps the geometry; the network sees O(1) inputs and targets).
    PointCloud s = source, g = target;
    s.normalizeWeights();
    g.normalizeWeights();
    const Eigen::VectorXd ms = s.mean(), mg = g.mean();
    center_ = 0.5 * (ms + mg);
    const double spread =
        0.5 * (s.covariance().trace() + (ms - center_).squaredNorm() + g.covariance().trace() + (mg - center_).squaredNorm()) / d;
    scale_ = spread > 0 && std::isfinite(spread) ? std::sqrt(spread) : 1.0;
    const double invScale = 1.0 / scale_, s2 = scale_ * scale_;

    const AliasTable drawSource(s.weights), drawTarget(g.weights);
    Rng rng(opt.seed ^ 0x6a09e667f3bcc909ULL);  // a stream apart from the initial weights'
    const int B = opt.batch;
    const bool ot = opt.coupling == MlpFieldOptions::Coupling::MinibatchOt;
    ExactOptions exact;
    exact.threads = opt.threads;

    Eigen::VectorXd m = Eigen::VectorXd::Zero(theta_.size()), v = Eigen::VectorXd::Zero(theta_.size()), grad;
    constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double beta1t = 1, beta2t = 1;
    std::vector<std::size_t> i0(B), i1(B), perm(B);
    Eigen::VectorXd t(B);
    Eigen::MatrixXd xt(d, B), u(d, B);
    PointCloud b0, b1;
    b0.dim = b1.dim = d;
    history_.reserve(static_cast<std::size_t>(opt.iterations));

    for (int it = 1; it <= opt.iterations; ++it) {
        for (int k = 0; k < B; ++k) i0[k] = drawSource.draw(rng);
        for (int k = 0; k < B; ++k) i1[k] = drawTarget.draw(rng);
        for (int k = 0; k < B; ++k) t[k] = rng.uniform();
        for (int k = 0; k < B; ++k) perm[k] = static_cast<std::size_t>(k);
        if (ot && B > 1) {
            // Exact OT between the two uniform minibatches: for n = m with equal weights the optimal plan is a
            // permutation (Birkhoff; network simplex with unit supplies, or the sorted 1-D plan).
            b0.points.resize(static_cast<std::size_t>(B) * d);
            b1.points.resize(static_cast<std::size_t>(B) * d);
            // (solveExact works on integer-rounded costs, so repeated points in a minibatch cannot make it cycle.)
            for (int k = 0; k < B; ++k)
                for (int c = 0; c < d; ++c) {
                    b0.points[static_cast<std::size_t>(k) * d + c] = s.point(i0[k])[c];
                    b1.points[static_cast<std::size_t>(k) * d + c] = g.point(i1[k])[c];
                }
            b0.weights.assign(B, 1.0 / B);
            b1.weights.assign(B, 1.0 / B);
            const OtResult r = solveExact(b0, b1, exact);
            // Greedy by mass, so a (theoretically impossible) split plan still yields a permutation.
            std::vector<PlanEntry> plan = r.plan;
            std::stable_sort(plan.begin(), plan.end(), [](const PlanEntry& a, const PlanEntry& b) { return a.mass > b.mass; });
            std::vector<char> usedI(B, 0), usedJ(B, 0);
            for (const PlanEntry& e : plan)
                if (e.i < static_cast<std::uint32_t>(B) && e.j < static_cast<std::uint32_t>(B) && !usedI[e.i] && !usedJ[e.j]) {
                    usedI[e.i] = usedJ[e.j] = 1;
                    perm[e.i] = e.j;
                }
            for (int k = 0, j = 0; k < B; ++k)
                if (!usedI[k]) {
                    while (usedJ[j]) ++j;
                    usedJ[j] = 1;
                    perm[k] = static_cast<std::size_t>(j);
                }
        }
        for (int k = 0; k < B; ++k) {
            const double* p0 = s.point(i0[k]);
            const double* p1 = g.point(i1[perm[k]]);
            for (int c = 0; c < d; ++c) {
                xt(c, k) = ((1 - t[k]) * p0[c] + t[k] * p1[c] - center_[c]) * invScale;
                u(c, k) = (p1[c] - p0[c]) * invScale;
            }
        }
        const double loss = normalizedLossAndGradient<float>(t, xt, u, &grad, opt.threads);
        if (!std::isfinite(loss) || !grad.allFinite())
            throw Error("flow matching: training diverged at step " + std::to_string(it) +
                        " (non-finite loss); lower MlpFieldOptions.learningRate");
        // Adam with bias correction.
        beta1t *= beta1;
        beta2t *= beta2;
        m = beta1 * m + (1 - beta1) * grad;
        v = beta2 * v + (1 - beta2) * grad.cwiseAbs2();
        // Cosine decay of the step size from learningRate to learningRate * finalLearningRateFactor.
        const double progressFrac = opt.iterations > 1 ? static_cast<double>(it - 1) / (opt.iterations - 1) : 1.0;
        const double lr = opt.learningRate * (opt.finalLearningRateFactor + (1 - opt.finalLearningRateFactor) * 0.5 *
                                                                                (1 + std::cos(std::numbers::pi * progressFrac)));
        const double a = lr / (1 - beta1t), c2 = 1 / (1 - beta2t);
        theta_.array() -= a * m.array() / ((v.array() * c2).sqrt() + eps);
        steps_ = it;
        history_.push_back(loss * s2);
        if (progress && !progress(it, loss * s2)) break;
    }
}

}  // namespace tl
