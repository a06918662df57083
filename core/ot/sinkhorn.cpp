#include "ot/sinkhorn.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

#include "kernels/reduce.h"
#include "util/error.h"
#include "util/parallel.h"

namespace tl {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Both clouds shifted by a common centre (the cost is translation invariant; centring keeps
// |x|^2 - 2 x.y + |y|^2 well conditioned) plus log-weights.
struct Problem {
    int dim;
    std::size_t n, m;
    std::vector<double> x, y, loga, logb;
    const std::vector<double>& a;
    const std::vector<double>& b;
    int threads;

    Problem(const PointCloud& px, const PointCloud& py, int thr)
        : dim(px.dim), n(px.size()), m(py.size()), x(px.points), y(py.points), a(px.weights), b(py.weights), threads(thr) {
        std::vector<double> c(dim, 0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (int k = 0; k < dim; ++k) c[k] += x[i * dim + k] / static_cast<double>(n + m);
        for (std::size_t j = 0; j < m; ++j)
            for (int k = 0; k < dim; ++k) c[k] += y[j * dim + k] / static_cast<double>(n + m);
        for (std::size_t i = 0; i < n; ++i)
            for (int k = 0; k < dim; ++k) x[i * dim + k] -= c[k];
        for (std::size_t j = 0; j < m; ++j)
            for (int k = 0; k < dim; ++k) y[j * dim + k] -= c[k];
        loga.resize(n);
        logb.resize(m);
        for (std::size_t i = 0; i < n; ++i) loga[i] = a[i] > 0 ? std::log(a[i]) : kNegInf;
        for (std::size_t j = 0; j < m; ++j) logb[j] = b[j] > 0 ? std::log(b[j]) : kNegInf;
        double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
        for (std::size_t k = 0; k < x.size(); ++k) lo[k % dim] = std::min(lo[k % dim], x[k]), hi[k % dim] = std::max(hi[k % dim], x[k]);
        for (std::size_t k = 0; k < y.size(); ++k) lo[k % dim] = std::min(lo[k % dim], y[k]), hi[k % dim] = std::max(hi[k % dim], y[k]);
        for (int k = 0; k < dim; ++k) diam2 += (hi[k] - lo[k]) * (hi[k] - lo[k]);
    }

    double diam2 = 0;  // squared diameter of the joint bounding box (an upper bound of every C_ij)
    std::vector<float> xf, yf;  // the centred points in float, made on first use

    void makeFloat() {
        if (!xf.empty() || n == 0) return;
        xf.assign(x.begin(), x.end());
        yf.assign(y.begin(), y.end());
    }
};

// An estimate of the L1 marginal error at which float iterations stop improving: the exponents
// s_ij = h_j - C_ij / eps are rounded to 2^-24 of their size, up to the squared diameter over eps,
// and the errors of the dominant terms mostly average out in the row sums. Measured floors of
// pure float runs (Gaussian -> uniform and Gaussian -> moons, N = 2000, eps = 0.003 .. 0.3):
// 0.03 - 0.08 x 2^-24 diam2 / eps; this estimate is 3 - 8 x that, and Auto asks it to be below the
// tolerance. (An optimistic estimate costs time, not accuracy: stalls and claims of convergence
// are settled in double.)
double floatFloor(double diam2, double eps) { return 0x1p-24 * (0.25 * diam2 / eps + 1); }

// out_i = log sum_j exp(logw_j + pot_j / eps - |p_i - q_j|^2 / eps), in double, or with the float
// kernel: h is shifted by its maximum c (the potentials' free additive constant would otherwise
// cost float digits), rounded to float, and c is added back to the result in double.
struct SoftC {
    std::vector<double> h;
    std::vector<float> hf, outf;

    void operator()(const std::vector<double>& p, std::size_t np, const std::vector<double>& q, std::size_t nq, int dim,
                    const std::vector<double>& logw, const std::vector<double>& pot, double eps, std::vector<double>& out,
                    int threads, const float* pf = nullptr, const float* qf = nullptr) {
        h.resize(nq);
        for (std::size_t j = 0; j < nq; ++j) h[j] = logw[j] + pot[j] / eps;
        out.resize(np);
        if (!pf) {
            kernels::PairSet<double> ps{dim, p.data(), np, q.data(), nq, h.data(), 1.0 / eps};
            kernels::logSumExp(ps, out.data(), threads);
            return;
        }
        double c = kNegInf;
        for (double v : h) c = std::max(c, v);
        if (!std::isfinite(c)) c = 0;
        hf.resize(nq);
        for (std::size_t j = 0; j < nq; ++j) hf[j] = static_cast<float>(h[j] - c);
        outf.resize(np);
        kernels::PairSet<float> ps{dim, pf, np, qf, nq, hf.data(), static_cast<float>(1.0 / eps)};
        kernels::logSumExp(ps, outf.data(), threads);
        for (std::size_t i = 0; i < np; ++i) out[i] = static_cast<double>(outf[i]) + c;
    }
};

// Auto precision: float while the float floor is below `target`; once switched to double (a
// stall, or a float claim of convergence to re-check) it stays double.
struct PrecisionControl {
    SinkhornPrecision mode;
    double diam2;
    bool useFloat = false;
    std::vector<double> history;  // float residuals at the current eps

    bool floatFor(double eps, double target) const {
        if (mode == SinkhornPrecision::Float) return true;
        if (mode == SinkhornPrecision::Double) return false;
        return floatFloor(diam2, eps) < target;
    }
    // A float residual that has not dropped by 2 % over 5 iterations is at the float floor.
    bool stalled(double err) {
        history.push_back(err);
        const std::size_t k = history.size();
        return k > 5 && !(err < 0.98 * history[k - 6]);
    }
};

std::vector<double> epsilonLevels(double target, double start, double factor) {
    std::vector<double> levels;
    if (!(factor > 0 && factor < 1)) factor = 0.5;
    for (double e = start; e > target && levels.size() < 200; e *= factor) levels.push_back(e);
    levels.push_back(target);
    return levels;
}

void validateOptions(const SinkhornOptions& opt) {
    if (!(opt.epsilon > 0) || !std::isfinite(opt.epsilon)) throw Error("epsilon must be a positive number");
    if (!(opt.tolerance > 0) || !std::isfinite(opt.tolerance)) throw Error("tolerance must be a positive number");
    if (opt.maxIterations < 1) throw Error("max-iterations must be at least 1");
}

// One (a, b) solve: the centred problem, the potentials and the scratch of the soft-min passes.
// iterate() runs the eps-scaling levels and the iterations at eps, summarise() measures the
// marginal errors, the cost, the barycentric map and the dual value, extractPlan() lists pi_ij.
struct SinkhornState {
    const SinkhornOptions& opt;
    Problem P;
    double eps;  // lowered only if stopped during eps-scaling
    std::vector<double> f, g;  // the potentials
    std::vector<double> L, G;  // row and column log-sum-exps of the last passes
    std::vector<double> levels;  // eps-scaling levels, the last one eps
    SoftC softC;
    PrecisionControl prec;
    int it = 0;

    SinkhornState(const PointCloud& px, const PointCloud& py, const SinkhornOptions& o)
        : opt(o), P(px, py, o.threads), eps(o.epsilon), f(P.n, 0.0), g(P.m, 0.0), prec{o.precision, P.diam2, false, {}} {
        if (!opt.initialF.empty() || !opt.initialG.empty()) {
            if (opt.initialF.size() != P.n || opt.initialG.size() != P.m) throw Error("Sinkhorn warm start: potential sizes do not match the measures");
            f = opt.initialF;
            g = opt.initialG;
            levels = {eps};
        } else {
            levels = opt.epsilonScaling ? epsilonLevels(eps, P.diam2, opt.scalingFactor) : std::vector<double>{eps};
        }
    }

    // The two half-iterations, with the float kernel when prec.useFloat.
    void rowsLse(double e) {  // L_i = log sum_j b_j exp((g_j - C_ij) / e)
        if (prec.useFloat) P.makeFloat();
        softC(P.x, P.n, P.y, P.m, P.dim, P.logb, g, e, L, P.threads, prec.useFloat ? P.xf.data() : nullptr, P.yf.data());
    }
    void fUpdate(double e) {  // after rowsLse(e)
        for (std::size_t i = 0; i < P.n; ++i) f[i] = -e * L[i];
    }
    void gUpdate(double e) {
        if (prec.useFloat) P.makeFloat();
        softC(P.y, P.m, P.x, P.n, P.dim, P.loga, f, e, G, P.threads, prec.useFloat ? P.yf.data() : nullptr, P.xf.data());
        for (std::size_t j = 0; j < P.m; ++j) g[j] = -e * G[j];
    }
    // L1 error of the row marginals at eps, from L (after rowsLse(eps)).
    double rowError() const {
        long double err = 0;
        for (std::size_t i = 0; i < P.n; ++i) err += std::fabs(P.a[i] * std::exp(f[i] / eps + L[i]) - P.a[i]);
        return static_cast<double>(err);
    }
    // L1 error of the column marginals of the returned potentials (one more half-iteration, double).
    long double columnError() {
        softC(P.y, P.m, P.x, P.n, P.dim, P.loga, f, eps, G, P.threads);
        long double colErr = 0;
        for (std::size_t j = 0; j < P.m; ++j) colErr += std::fabs(P.b[j] * std::exp(g[j] / eps + G[j]) - P.b[j]);
        return colErr;
    }
    bool cancelled(SinkhornResult& r, double err) {  // asks opt.progress; marks r cancelled
        if (!opt.progress || opt.progress(it, err)) return false;
        r.status = OtStatus::Cancelled;
        r.message = "cancelled";
        return true;
    }
};

// Coarse levels: one iteration each (the potentials carry over between levels). If the
// iteration cap or a cancel stops the run here, the result is reported at the last level
// completed (r.epsilon says which): potentials of a coarse level are meaningless at eps.
// They only prepare the next level, so the float kernel serves while its floor is < 1e-3.
// Returns false when stopped before eps.
bool scaleEpsilon(SinkhornState& S, SinkhornResult& r) {
    double reached = S.levels.front();
    bool stoppedEarly = false;
    for (std::size_t lv = 0; lv + 1 < S.levels.size() && !stoppedEarly; ++lv) {
        if (S.it >= S.opt.maxIterations) {
            r.message = "Sinkhorn stopped after " + std::to_string(S.it) + " iterations during epsilon-scaling (at epsilon " +
                        std::to_string(reached) + ")";
            stoppedEarly = true;
            break;
        }
        S.prec.useFloat = S.prec.floatFor(S.levels[lv], 1e-3);
        S.rowsLse(S.levels[lv]);
        S.fUpdate(S.levels[lv]);
        S.gUpdate(S.levels[lv]);
        reached = S.levels[lv];
        ++S.it;
        if (S.prec.useFloat) ++r.floatIterations;
        if (S.cancelled(r, -1.0)) stoppedEarly = true;
    }
    if (stoppedEarly) {
        S.eps = reached;
        r.epsilon = S.eps;
    }
    return !stoppedEarly;
}

// At eps: float iterations if the float floor estimate is below the tolerance; a stall or a
// float claim of convergence switches to double (the claim is re-checked at once). Sets the
// status (Converged, NumericalError, Cancelled, or MaxIterations as it was); returns the last
// row error.
double iterateAtEpsilon(SinkhornState& S, SinkhornResult& r) {
    const double eps = S.eps;
    double rowErr = std::numeric_limits<double>::infinity();
    for (;;) {
        S.rowsLse(eps);
        rowErr = S.rowError();
        if (!std::isfinite(rowErr)) {
            r.status = OtStatus::NumericalError;
            r.message = "Sinkhorn produced non-finite potentials at epsilon = " + std::to_string(eps) + "; increase epsilon";
            break;
        }
        if (S.prec.useFloat && ((S.it > 0 && rowErr < S.opt.tolerance) || S.prec.stalled(rowErr))) {
            S.prec.useFloat = false;  // re-check / continue in double
            continue;
        }
        if (S.it > 0 && rowErr < S.opt.tolerance) {
            r.status = OtStatus::Converged;
            break;
        }
        if (S.it >= S.opt.maxIterations) {
            r.message = "Sinkhorn stopped after " + std::to_string(S.it) + " iterations with marginal error " + std::to_string(rowErr);
            break;
        }
        S.fUpdate(eps);
        S.gUpdate(eps);
        ++S.it;
        if (S.prec.useFloat) ++r.floatIterations;
        if (S.cancelled(r, rowErr)) break;
    }
    return rowErr;
}

// The iterations: eps-scaling, then at eps. Returns the last row error (infinite if none at eps).
double iterate(SinkhornState& S, SinkhornResult& r) {
    const bool atEps = scaleEpsilon(S, r);
    S.prec.useFloat = S.prec.floatFor(S.eps, S.opt.tolerance);
    const double rowErr = atEps ? iterateAtEpsilon(S, r) : std::numeric_limits<double>::infinity();
    r.iterations = S.it;
    return rowErr;
}

// Row masses, transport cost and barycentric map in one softmax-weighted pass over j; the
// marginal error from these row masses and colErr.
void costPass(SinkhornState& S, SinkhornResult& r, long double colErr, const PointCloud& px) {
    const Problem& P = S.P;
    const double eps = S.eps;
    std::vector<double> vals(P.m * (P.dim + 1)), mean(P.n * (P.dim + 1)), h(P.m);
    for (std::size_t j = 0; j < P.m; ++j) {
        double q = 0;
        for (int k = 0; k < P.dim; ++k) {
            vals[j * (P.dim + 1) + k] = P.y[j * P.dim + k];
            q += P.y[j * P.dim + k] * P.y[j * P.dim + k];
        }
        vals[j * (P.dim + 1) + P.dim] = q;
    }
    for (std::size_t j = 0; j < P.m; ++j) h[j] = P.logb[j] + S.g[j] / eps;
    kernels::PairSet<double> ps{P.dim, P.x.data(), P.n, P.y.data(), P.m, h.data(), 1.0 / eps};
    std::vector<double>& L = S.L;
    L.resize(P.n);
    kernels::softmaxWeightedSum(ps, vals.data(), P.dim + 1, mean.data(), L.data(), P.threads);
    long double cost = 0, rerr = 0;
    if (S.opt.computeBarycentricMap) r.barycentricMap.resize(P.n * P.dim);
    for (std::size_t i = 0; i < P.n; ++i) {
        const double ri = P.a[i] * std::exp(S.f[i] / eps + L[i]);
        rerr += std::fabs(ri - P.a[i]);
        double xx = 0, xy = 0;
        for (int k = 0; k < P.dim; ++k) {
            xx += P.x[i * P.dim + k] * P.x[i * P.dim + k];
            xy += P.x[i * P.dim + k] * mean[i * (P.dim + 1) + k];
        }
        cost += ri * std::max(0.0, xx - 2 * xy + mean[i * (P.dim + 1) + P.dim]);
        if (S.opt.computeBarycentricMap)
            for (int k = 0; k < P.dim; ++k) r.barycentricMap[i * P.dim + k] = mean[i * (P.dim + 1) + k] + (px.point(i)[k] - P.x[i * P.dim + k]);
    }
    r.cost = static_cast<double>(cost);
    r.marginalError = static_cast<double>(std::max(rerr, colErr));
}

// The reported values. costPass = false (the divergence only needs the dual value): no cost /
// barycentric pass, the row residual is the loop's last (re-measured in double if that one was
// float); cost is NaN.
void summarise(SinkhornState& S, SinkhornResult& r, double rowErr, bool withCost, const PointCloud& px) {
    const long double colErr = S.columnError();
    if (withCost) {
        costPass(S, r, colErr, px);
    } else {
        if (S.prec.useFloat || !std::isfinite(rowErr)) {
            S.prec.useFloat = false;
            S.rowsLse(S.eps);
            rowErr = S.rowError();
        }
        r.cost = std::numeric_limits<double>::quiet_NaN();
        r.marginalError = std::max(rowErr, static_cast<double>(colErr));
    }
    const Problem& P = S.P;
    long double dual = 0;
    for (std::size_t i = 0; i < P.n; ++i) dual += P.a[i] > 0 ? P.a[i] * S.f[i] : 0.0;
    for (std::size_t j = 0; j < P.m; ++j) dual += P.b[j] > 0 ? P.b[j] * S.g[j] : 0.0;
    r.dualObjective = static_cast<double>(dual);
    if (withCost && !std::isfinite(r.cost) && r.status != OtStatus::Cancelled) {
        r.status = OtStatus::NumericalError;
        r.message = "Sinkhorn produced a non-finite cost; increase epsilon";
    }
}

// The plan entries pi_ij >= planThreshold * a_i, row by row; throws past maxPlanEntries.
void extractPlan(const SinkhornState& S, SinkhornResult& r) {
    const Problem& P = S.P;
    const SinkhornOptions& opt = S.opt;
    const double eps = S.eps;
    const std::vector<double>& f = S.f;
    const std::vector<double>& g = S.g;
    std::vector<std::vector<PlanEntry>> rows(P.n);
    std::mutex mtx;
    std::size_t total = 0;
    bool tooMany = false;
    parallelFor(P.n, 16, P.threads, [&](std::size_t i0, std::size_t i1) {
        std::size_t local = 0;
        for (std::size_t i = i0; i < i1; ++i) {
            for (std::size_t j = 0; j < P.m; ++j) {
                double c = 0;
                for (int k = 0; k < P.dim; ++k) {
                    const double d = P.x[i * P.dim + k] - P.y[j * P.dim + k];
                    c += d * d;
                }
                const double pij = P.a[i] * P.b[j] * std::exp((f[i] + g[j] - c) / eps);
                if (pij > 0 && pij >= opt.planThreshold * P.a[i]) rows[i].push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), pij});
            }
            local += rows[i].size();
        }
        std::lock_guard<std::mutex> lk(mtx);
        total += local;
        if (total > opt.maxPlanEntries) tooMany = true;
    });
    if (tooMany)
        throw Error("the Sinkhorn plan has more than " + std::to_string(opt.maxPlanEntries) +
                    " entries above the threshold; use a smaller epsilon or a larger plan threshold");
    r.plan.reserve(total);
    for (auto& row : rows) r.plan.insert(r.plan.end(), row.begin(), row.end());
}

// withCost = false: see summarise().
SinkhornResult sinkhornImpl(const PointCloud& px, const PointCloud& py, const SinkhornOptions& opt, bool withCost) {
    checkTransportPair(px, py);
    validateOptions(opt);
    const auto t0 = Clock::now();
    SinkhornState S(px, py, opt);
    SinkhornResult r;
    r.method = OtMethod::Sinkhorn;
    r.epsilon = S.eps;
    r.status = OtStatus::MaxIterations;
    const double rowErr = iterate(S, r);
    summarise(S, r, rowErr, withCost, px);
    if (opt.computePlan && r.ok()) extractPlan(S, r);
    r.f = std::move(S.f);
    r.g = std::move(S.g);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

}  // namespace

SinkhornResult sinkhorn(const PointCloud& px, const PointCloud& py, const SinkhornOptions& opt) {
    return sinkhornImpl(px, py, opt, true);
}

namespace {

struct SymmetricSolve {
    double value = 0;  // OT_eps(a, a) = sum 2 a_i f_i
    std::vector<double> f;
    int iterations = 0, floatIterations = 0;
    double marginalError = 0;  // L1, double precision, of the last check
    bool converged = false;
};

SymmetricSolve symmetricSolve(const PointCloud& px, const SinkhornOptions& opt) {
    px.validate("measure");
    validateOptions(opt);
    Problem P(px, px, opt.threads);
    const double eps = opt.epsilon;
    std::vector<double> f(P.n, 0.0), L;
    std::vector<double> levels{eps};
    if (!opt.initialSymmetricX.empty()) {
        if (opt.initialSymmetricX.size() != P.n) throw Error("Sinkhorn warm start: symmetric potential size does not match the measure");
        f = opt.initialSymmetricX;
    } else if (opt.epsilonScaling) {
        levels = epsilonLevels(eps, P.diam2, opt.scalingFactor);
    }
    SoftC softC;
    PrecisionControl prec{opt.precision, P.diam2};
    SymmetricSolve out;
    int its = 0, floatIts = 0;
    auto lse = [&](double e) {
        if (prec.useFloat) P.makeFloat();
        softC(P.x, P.n, P.x, P.n, P.dim, P.loga, f, e, L, P.threads, prec.useFloat ? P.xf.data() : nullptr, P.xf.data());
    };
    for (std::size_t lv = 0; lv + 1 < levels.size(); ++lv) {
        prec.useFloat = prec.floatFor(levels[lv], 1e-3);
        lse(levels[lv]);
        for (std::size_t i = 0; i < P.n; ++i) f[i] = 0.5 * (f[i] - levels[lv] * L[i]);
        ++its;
        if (prec.useFloat) ++floatIts;
    }
    prec.useFloat = prec.floatFor(eps, opt.tolerance);
    for (int it = 0; it < opt.maxIterations;) {
        lse(eps);
        long double err = 0;
        for (std::size_t i = 0; i < P.n; ++i) err += std::fabs(P.a[i] * std::exp(f[i] / eps + L[i]) - P.a[i]);
        if (!std::isfinite(static_cast<double>(err))) throw Error("symmetric Sinkhorn diverged; increase epsilon");
        if (prec.useFloat && (err < opt.tolerance || prec.stalled(static_cast<double>(err)))) {
            prec.useFloat = false;
            continue;
        }
        out.marginalError = static_cast<double>(err);
        if (err < opt.tolerance) {
            out.converged = true;
            break;
        }
        for (std::size_t i = 0; i < P.n; ++i) f[i] = 0.5 * (f[i] - eps * L[i]);
        ++its;
        if (prec.useFloat) ++floatIts;
        if (opt.progress && !opt.progress(it, static_cast<double>(err))) break;
        ++it;
    }
    long double s = 0;
    for (std::size_t i = 0; i < P.n; ++i)
        if (P.a[i] > 0) s += 2 * P.a[i] * f[i];
    out.value = static_cast<double>(s);
    out.iterations = its;
    out.floatIterations = floatIts;
    out.f = std::move(f);
    return out;
}

}  // namespace

double symmetricEntropicOt(const PointCloud& px, const SinkhornOptions& opt, std::vector<double>* potential, int* iterations,
                           int* floatIterations) {
    SymmetricSolve r = symmetricSolve(px, opt);
    if (iterations) *iterations = r.iterations;
    if (floatIterations) *floatIterations = r.floatIterations;
    if (potential) *potential = std::move(r.f);
    return r.value;
}

SinkhornDivergenceResult solveSinkhornDivergence(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt) {
    SinkhornOptions o = opt;
    o.computePlan = false;
    o.computeBarycentricMap = false;
    SinkhornDivergenceResult d;
    auto xy = sinkhornImpl(x, y, o, false);
    // Not converged to the tolerance within the cap is still an estimate; cancel and blow-up are not.
    if (xy.status == OtStatus::Cancelled || xy.status == OtStatus::NumericalError) throw Error("Sinkhorn divergence: " + xy.message);
    SinkhornOptions oy = o;
    oy.initialSymmetricX = o.initialSymmetricY;
    SymmetricSolve sx = symmetricSolve(x, o), sy = symmetricSolve(y, oy);
    if (o.progress && !o.progress(0, 0)) throw Error("Sinkhorn divergence: cancelled");
    d.otXY = xy.dualObjective;
    d.otXX = sx.value;
    d.otYY = sy.value;
    d.divergence = d.otXY - 0.5 * d.otXX - 0.5 * d.otYY;
    d.iterationsXY = xy.iterations;
    d.iterationsXX = sx.iterations;
    d.iterationsYY = sy.iterations;
    d.floatIterations = xy.floatIterations + sx.floatIterations + sy.floatIterations;
    d.marginalError = std::max({xy.marginalError, sx.marginalError, sy.marginalError});
    d.status = xy.status == OtStatus::Converged && sx.converged && sy.converged ? OtStatus::Converged : OtStatus::MaxIterations;
    d.symmetricX = std::move(sx.f);
    d.symmetricY = std::move(sy.f);
    d.f = std::move(xy.f);
    d.g = std::move(xy.g);
    return d;
}

double sinkhornDivergence(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt) {
    return solveSinkhornDivergence(x, y, opt).divergence;
}

}  // namespace tl
