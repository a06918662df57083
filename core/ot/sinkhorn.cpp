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
    }
};

// out_i = log sum_j exp(logw_j + pot_j / eps - |p_i - q_j|^2 / eps)
void softC(const std::vector<double>& p, std::size_t np, const std::vector<double>& q, std::size_t nq, int dim,
           const std::vector<double>& logw, const std::vector<double>& pot, double eps, std::vector<double>& h,
           std::vector<double>& out, int threads) {
    h.resize(nq);
    for (std::size_t j = 0; j < nq; ++j) h[j] = logw[j] + pot[j] / eps;
    kernels::PairSet<double> ps{dim, p.data(), np, q.data(), nq, h.data(), 1.0 / eps};
    out.resize(np);
    kernels::logSumExp(ps, out.data(), threads);
}

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

}  // namespace

SinkhornResult sinkhorn(const PointCloud& px, const PointCloud& py, const SinkhornOptions& opt) {
    checkTransportPair(px, py);
    validateOptions(opt);
    const auto t0 = Clock::now();
    Problem P(px, py, opt.threads);
    double eps = opt.epsilon;  // lowered only if stopped during eps-scaling
    std::vector<double> f(P.n, 0.0), g(P.m, 0.0), L, G, h;
    std::vector<double> levels;
    if (!opt.initialF.empty() || !opt.initialG.empty()) {
        if (opt.initialF.size() != P.n || opt.initialG.size() != P.m) throw Error("Sinkhorn warm start: potential sizes do not match the measures");
        f = opt.initialF;
        g = opt.initialG;
        levels = {eps};
    } else {
        levels = opt.epsilonScaling ? epsilonLevels(eps, jointSquaredDiameter(px, py), opt.scalingFactor) : std::vector<double>{eps};
    }

    SinkhornResult r;
    r.method = OtMethod::Sinkhorn;
    r.epsilon = eps;
    r.status = OtStatus::MaxIterations;
    double rowErr = std::numeric_limits<double>::infinity();
    int it = 0;
    auto gUpdate = [&](double e) {
        softC(P.y, P.m, P.x, P.n, P.dim, P.loga, f, e, h, G, P.threads);
        for (std::size_t j = 0; j < P.m; ++j) g[j] = -e * G[j];
    };
    // Coarse levels: one iteration each (the potentials carry over between levels). If the
    // iteration cap or a cancel stops the run here, the result is reported at the last level
    // completed (r.epsilon says which): potentials of a coarse level are meaningless at eps.
    double reached = levels.front();
    bool stoppedEarly = false;
    for (std::size_t lv = 0; lv + 1 < levels.size() && !stoppedEarly; ++lv) {
        if (it >= opt.maxIterations) {
            r.message = "Sinkhorn stopped after " + std::to_string(it) + " iterations during epsilon-scaling (at epsilon " +
                        std::to_string(reached) + ")";
            stoppedEarly = true;
            break;
        }
        softC(P.x, P.n, P.y, P.m, P.dim, P.logb, g, levels[lv], h, L, P.threads);
        for (std::size_t i = 0; i < P.n; ++i) f[i] = -levels[lv] * L[i];
        gUpdate(levels[lv]);
        reached = levels[lv];
        ++it;
        if (opt.progress && !opt.progress(it, -1.0)) {
            r.status = OtStatus::Cancelled;
            r.message = "cancelled";
            stoppedEarly = true;
        }
    }
    if (stoppedEarly) {
        eps = reached;
        r.epsilon = eps;
    }
    while (!stoppedEarly && r.status != OtStatus::Cancelled) {
        softC(P.x, P.n, P.y, P.m, P.dim, P.logb, g, eps, h, L, P.threads);
        long double err = 0;
        for (std::size_t i = 0; i < P.n; ++i) err += std::fabs(P.a[i] * std::exp(f[i] / eps + L[i]) - P.a[i]);
        rowErr = static_cast<double>(err);
        if (!std::isfinite(rowErr)) {
            r.status = OtStatus::NumericalError;
            r.message = "Sinkhorn produced non-finite potentials at epsilon = " + std::to_string(eps) + "; increase epsilon";
            break;
        }
        if (it > 0 && rowErr < opt.tolerance) {
            r.status = OtStatus::Converged;
            break;
        }
        if (it >= opt.maxIterations) {
            r.message = "Sinkhorn stopped after " + std::to_string(it) + " iterations with marginal error " + std::to_string(rowErr);
            break;
        }
        for (std::size_t i = 0; i < P.n; ++i) f[i] = -eps * L[i];
        gUpdate(eps);
        ++it;
        if (opt.progress && !opt.progress(it, rowErr)) {
            r.status = OtStatus::Cancelled;
            r.message = "cancelled";
            break;
        }
    }
    r.iterations = it;

    // Column residual of the returned potentials (honest report, one more half-iteration).
    softC(P.y, P.m, P.x, P.n, P.dim, P.loga, f, eps, h, G, P.threads);
    long double colErr = 0;
    for (std::size_t j = 0; j < P.m; ++j) colErr += std::fabs(P.b[j] * std::exp(g[j] / eps + G[j]) - P.b[j]);
    // Row masses, transport cost and barycentric map in one softmax-weighted pass over j.
    {
        std::vector<double> vals(P.m * (P.dim + 1)), mean(P.n * (P.dim + 1));
        for (std::size_t j = 0; j < P.m; ++j) {
            double q = 0;
            for (int k = 0; k < P.dim; ++k) {
                vals[j * (P.dim + 1) + k] = P.y[j * P.dim + k];
                q += P.y[j * P.dim + k] * P.y[j * P.dim + k];
            }
            vals[j * (P.dim + 1) + P.dim] = q;
        }
        h.resize(P.m);
        for (std::size_t j = 0; j < P.m; ++j) h[j] = P.logb[j] + g[j] / eps;
        kernels::PairSet<double> ps{P.dim, P.x.data(), P.n, P.y.data(), P.m, h.data(), 1.0 / eps};
        L.resize(P.n);
        kernels::softmaxWeightedSum(ps, vals.data(), P.dim + 1, mean.data(), L.data(), P.threads);
        long double cost = 0, rerr = 0;
        if (opt.computeBarycentricMap) r.barycentricMap.resize(P.n * P.dim);
        for (std::size_t i = 0; i < P.n; ++i) {
            const double ri = P.a[i] * std::exp(f[i] / eps + L[i]);
            rerr += std::fabs(ri - P.a[i]);
            double xx = 0, xy = 0;
            for (int k = 0; k < P.dim; ++k) {
                xx += P.x[i * P.dim + k] * P.x[i * P.dim + k];
                xy += P.x[i * P.dim + k] * mean[i * (P.dim + 1) + k];
            }
            cost += ri * std::max(0.0, xx - 2 * xy + mean[i * (P.dim + 1) + P.dim]);
            if (opt.computeBarycentricMap)
                for (int k = 0; k < P.dim; ++k) r.barycentricMap[i * P.dim + k] = mean[i * (P.dim + 1) + k] + (px.point(i)[k] - P.x[i * P.dim + k]);
        }
        r.cost = static_cast<double>(cost);
        r.marginalError = static_cast<double>(std::max(rerr, colErr));
    }
    long double dual = 0;
    for (std::size_t i = 0; i < P.n; ++i) dual += P.a[i] > 0 ? P.a[i] * f[i] : 0.0;
    for (std::size_t j = 0; j < P.m; ++j) dual += P.b[j] > 0 ? P.b[j] * g[j] : 0.0;
    r.dualObjective = static_cast<double>(dual);
    if (!std::isfinite(r.cost) && r.status != OtStatus::Cancelled) {
        r.status = OtStatus::NumericalError;
        r.message = "Sinkhorn produced a non-finite cost; increase epsilon";
    }

    if (opt.computePlan && r.ok()) {
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
    r.f = std::move(f);
    r.g = std::move(g);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

double symmetricEntropicOt(const PointCloud& px, const SinkhornOptions& opt) {
    px.validate("measure");
    validateOptions(opt);
    Problem P(px, px, opt.threads);
    const double eps = opt.epsilon;
    std::vector<double> f(P.n, 0.0), L, h;
    const auto levels = opt.epsilonScaling ? epsilonLevels(eps, jointSquaredDiameter(px, px), opt.scalingFactor) : std::vector<double>{eps};
    for (std::size_t lv = 0; lv + 1 < levels.size(); ++lv) {
        softC(P.x, P.n, P.x, P.n, P.dim, P.loga, f, levels[lv], h, L, P.threads);
        for (std::size_t i = 0; i < P.n; ++i) f[i] = 0.5 * (f[i] - levels[lv] * L[i]);
    }
    for (int it = 0; it < opt.maxIterations; ++it) {
        softC(P.x, P.n, P.x, P.n, P.dim, P.loga, f, eps, h, L, P.threads);
        long double err = 0;
        for (std::size_t i = 0; i < P.n; ++i) err += std::fabs(P.a[i] * std::exp(f[i] / eps + L[i]) - P.a[i]);
        if (!std::isfinite(static_cast<double>(err))) throw Error("symmetric Sinkhorn diverged; increase epsilon");
        if (err < opt.tolerance) break;
        for (std::size_t i = 0; i < P.n; ++i) f[i] = 0.5 * (f[i] - eps * L[i]);
        if (opt.progress && !opt.progress(it, static_cast<double>(err))) break;
    }
    long double s = 0;
    for (std::size_t i = 0; i < P.n; ++i)
        if (P.a[i] > 0) s += 2 * P.a[i] * f[i];
    return static_cast<double>(s);
}

double sinkhornDivergence(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt) {
    SinkhornOptions o = opt;
    o.computePlan = false;
    o.computeBarycentricMap = false;
    const auto xy = sinkhorn(x, y, o);
    // Not converged to the tolerance within the cap is still an estimate; cancel and blow-up are not.
    if (xy.status == OtStatus::Cancelled || xy.status == OtStatus::NumericalError) throw Error("Sinkhorn divergence: " + xy.message);
    const double sx = symmetricEntropicOt(x, o), sy = symmetricEntropicOt(y, o);
    if (o.progress && !o.progress(0, 0)) throw Error("Sinkhorn divergence: cancelled");
    return xy.dualObjective - 0.5 * sx - 0.5 * sy;
}

}  // namespace tl
