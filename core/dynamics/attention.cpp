// attention (science.md §6, survey §7, (26)-(30), Thm 7.1): tokens as interacting particles,
// dx_i/dt = sum_j P_ij V x_j with P_ij proportional to exp(<x_i, A x_j>), A = Q^T K (beta I by default),
// row softmax or the Sinkformer's doubly stochastic normalisation; on the sphere the velocity is projected
// on the tangent space (I - x x^T) and positions are renormalised after every step. Metrics: clusters, min_cosine (sphere),
// the energy E_beta. Overlay (euclidean): the Gaussian closure (30) dm/dt = V(m + S A^T m),
// dS/dt = V S A^T S + S A S V^T from the source's moments, stopped at its finite-time blow-up.
#include <cmath>
#include <limits>
#include <sstream>

#include "dynamics/registry.h"
#include "flows/integrators.h"
#include "measure/csv.h"
#include "tokens/attention_kernel.h"
#include "tokens/clusters.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

constexpr double kBlowUpFactor = 1e6;  // the closure "blows up" when |S|_F exceeds 1e6 |S0|_F

// "a11;a12;...;add" (row-major) -> d x d; "" -> fallback. Throws naming the key.
Eigen::MatrixXd parseMatrix(const std::string& text, int d, const Eigen::MatrixXd& fallback, const std::string& key, const std::string& ctx) {
    if (text.empty()) return fallback;
    std::vector<double> v;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t semi = text.find(';', start);
        if (semi == std::string::npos) semi = text.size();
        const std::string item = text.substr(start, semi - start);
        double x = 0;
        if (!parseNumber(item, x) || !std::isfinite(x))
            throw Error(ctx + ": key '" + key + "' must be numbers separated by ';' (bad entry '" + item.substr(0, 32) + "')");
        v.push_back(x);
        start = semi + 1;
    }
    if (d > 0 && v.size() != static_cast<std::size_t>(d * d))
        throw Error(ctx + ": key '" + key + "' needs " + std::to_string(d * d) + " entries for " + std::to_string(d) + "-D tokens (got " +
                    std::to_string(v.size()) + ")");
    if (d <= 0) {  // parse-time check: a square count
        const auto s = static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(v.size()))));
        if (s < 1 || s > 3 || s * s != v.size())
            throw Error(ctx + ": key '" + key + "' needs 1, 4 or 9 entries (a d x d matrix, row-major; got " + std::to_string(v.size()) + ")");
        return Eigen::MatrixXd();
    }
    Eigen::MatrixXd M(d, d);
    for (int r = 0; r < d; ++r)
        for (int c = 0; c < d; ++c) M(r, c) = v[static_cast<std::size_t>(r * d + c)];
    return M;
}

struct Closure {
    Eigen::VectorXd m;
    Eigen::MatrixXd S;
};

// Gaussian closure (science.md §6, Thm 7.1, (30)), A = Q^T K: dm/dt = V (m + S A^T m), dS/dt = V S A^T S + S A S V^T.
Closure closureRate(const Closure& c, const Eigen::MatrixXd& A, const Eigen::MatrixXd& V) {
    return {V * (c.m + c.S * A.transpose() * c.m), V * c.S * A.transpose() * c.S + c.S * A * c.S * V.transpose()};
}

// Advances the closure from t to t1 with RK4 steps that change S by at most ~1% each; returns false
// (with the blow-up time) when |S| passes kBlowUpFactor |S0| or stops being finite.
bool advanceClosure(Closure& c, double& t, double t1, const Eigen::MatrixXd& A, const Eigen::MatrixXd& V, double S0norm, double& blowUp) {
    for (int guard = 0; t < t1 && guard < 2'000'000; ++guard) {
        const Closure k1 = closureRate(c, A, V);
        const double rate = k1.S.norm() / std::max(c.S.norm(), 1e-300) + k1.m.norm() / std::max(c.m.norm() + std::sqrt(c.S.norm()), 1e-300);
        const double h = std::min(t1 - t, 0.01 / std::max(rate, 1e-12));
        auto add = [](const Closure& a, const Closure& b, double s) { return Closure{a.m + s * b.m, a.S + s * b.S}; };
        const Closure k2 = closureRate(add(c, k1, h / 2), A, V);
        const Closure k3 = closureRate(add(c, k2, h / 2), A, V);
        const Closure k4 = closureRate(add(c, k3, h), A, V);
        c.m += h / 6 * (k1.m + 2 * k2.m + 2 * k3.m + k4.m);
        c.S += h / 6 * (k1.S + 2 * k2.S + 2 * k3.S + k4.S);
        t += h;
        if (!c.S.allFinite() || !c.m.allFinite() || c.S.norm() > kBlowUpFactor * S0norm) {
            blowUp = t;
            return false;
        }
    }
    return true;
}

class Attention : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure&, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const std::string who = "attention";
        const int d = source.cloud.dim;
        const std::size_t n = source.cloud.size();
        const bool sphere = p.choice("geometry") == "sphere";
        if (sphere && d < 2) throw Error(who + ": key 'geometry': sphere needs 2-D or 3-D tokens (the source is 1-D)");
        const double beta = p.real("beta");
        const bool custom = !p.text("query_key").empty();
        const Eigen::MatrixXd A = parseMatrix(p.text("query_key"), d, beta * Eigen::MatrixXd::Identity(d, d), "query_key", who);
        const Eigen::MatrixXd V = parseMatrix(p.text("value"), d, Eigen::MatrixXd::Identity(d, d), "value", who);
        const int sinkhorn = p.choice("normalization") == "sinkhorn" ? static_cast<int>(p.integer("sinkhorn_iterations")) : 0;
        const Integrator integrator = parseIntegrator(p.choice("integrator"));
        const long stepsTotal = p.integer("steps");
        const double tol = p.real("cluster_tolerance");
        const bool single = p.choice("precision") == "float";

        Eigen::MatrixXd X = source.cloud.matrix();
        auto normalise = [&](Eigen::MatrixXd& Y) {
            for (Eigen::Index i = 0; i < Y.rows(); ++i) {
                const double r = Y.row(i).norm();
                if (r > 0) Y.row(i) /= r;
            }
        };
        if (sphere) normalise(X);
        RunSummary sum;
        // dx_i/dt = sum_j P_ij V x_j (science.md §6, (28)); on the sphere projected by I - x_i x_i^T.
        auto velocity = [&](const Eigen::MatrixXd& Y) {
            ++sum.nfe;
            Eigen::MatrixXd v = tokens::attention(Y, A, sinkhorn, ctx.threads, single).average * V.transpose();
            if (sphere)
                for (Eigen::Index i = 0; i < Y.rows(); ++i) v.row(i) -= v.row(i).dot(Y.row(i)) * Y.row(i);
            return v;
        };

        // Closure (euclidean): from the source sample's mean and covariance.
        const bool closure = !sphere;
        Closure cl{source.cloud.mean(), source.cloud.covariance()};
        const double S0norm = std::max(cl.S.norm(), 1e-300);
        double tClosure = times.front(), blowUp = std::numeric_limits<double>::quiet_NaN();
        bool closureAlive = closure;

        auto publish = [&](double t, const Eigen::MatrixXd& Y) {
            Frame f;
            f.t = t;
            f.dim = d;
            f.positions.resize(n * d);
            f.weights = source.cloud.weights;
            const Eigen::MatrixXd v = velocity(Y);
            f.velocities.resize(n * d);
            for (std::size_t i = 0; i < n; ++i)
                for (int k = 0; k < d; ++k) {
                    f.positions[i * d + k] = Y(static_cast<Eigen::Index>(i), k);
                    f.velocities[i * d + k] = v(static_cast<Eigen::Index>(i), k);
                }
            f.setMetric("clusters", tokens::countClusters(f.positions.data(), n, d, tol, &f.labels));
            if (sphere) f.setMetric("min_cosine", tokens::minCosine(f.positions.data(), n, d, ctx.threads));
            if (!custom && beta > 0) f.setMetric("energy", tokens::attentionEnergy(f.positions.data(), n, d, beta, ctx.threads));
            f.onUnitSphere = sphere;
            if (closureAlive) {
                closureAlive = advanceClosure(cl, tClosure, t, A, V, S0norm, blowUp);
                if (closureAlive) f.overlays.push_back({"Gaussian closure (30)", cl.m, cl.S});
            }
            ctx.publish(std::move(f));
        };

        publish(times.front(), X);
        const double T = times.back() - times.front();
        long done = 0;
        for (std::size_t fi = 1; fi < times.size(); ++fi) {
            const long target = static_cast<long>(std::llround(static_cast<double>(stepsTotal) * (times[fi] - times.front()) / T));
            const long m = std::max<long>(1, target - done);
            const double dt = (times[fi] - times[fi - 1]) / static_cast<double>(m);
            for (long s = 0; s < m; ++s) {
                if (ctx.cancelled()) {
                    sum.cancelled = true;
                    return sum;
                }
                const Eigen::MatrixXd k1 = velocity(X);
                switch (integrator) {
                    case Integrator::Euler: X += dt * k1; break;
                    case Integrator::Heun: {
                        Eigen::MatrixXd Y = X + dt * k1;
                        if (sphere) normalise(Y);
                        X += 0.5 * dt * (k1 + velocity(Y));
                        break;
                    }
                    case Integrator::Rk4:
                    case Integrator::Dopri5: {  // not offered: RK4 steps
                        Eigen::MatrixXd Y = X + 0.5 * dt * k1;
                        if (sphere) normalise(Y);
                        const Eigen::MatrixXd k2 = velocity(Y);
                        Y = X + 0.5 * dt * k2;
                        if (sphere) normalise(Y);
                        const Eigen::MatrixXd k3 = velocity(Y);
                        Y = X + dt * k3;
                        if (sphere) normalise(Y);
                        const Eigen::MatrixXd k4 = velocity(Y);
                        X += dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
                        break;
                    }
                }
                if (sphere) normalise(X);
                if (!X.allFinite())
                    throw Error(who + ": tokens left the representable range near t = " + std::to_string(times[fi - 1] + (s + 1) * dt) +
                                " (use fewer 'steps' per unit time or a smaller 'beta')");
                ++done;
            }
            if (ctx.progress) ctx.progress((times[fi] - times.front()) / T, "step " + std::to_string(done));
            publish(times[fi], X);
        }
        std::ostringstream note;
        note << done << " " << integratorName(integrator) << " steps, " << (sinkhorn ? "Sinkhorn-normalised (" + std::to_string(sinkhorn) + " iterations)" : "softmax")
             << " attention" << (sphere ? " on the sphere" : "");
        if (closure && std::isfinite(blowUp)) note << "; Gaussian closure blows up at t = " << blowUp;
        sum.note = note.str();
        sum.extras.emplace_back("closure_blow_up_time", blowUp);
        return sum;
    }
};

}  // namespace

DynamicsInfo attentionInfo() {
    DynamicsInfo info{
        "attention",
        "Tokens moved by self-attention, dx_i/dt = sum_j P_ij V x_j (science.md §6): clustering on the sphere, the Sinkformer, the "
        "Gaussian closure",
        {
            {"beta", ParamType::Real, "1", 0, 1000, {}, "inverse temperature: Q^T K = beta I"},
            {"query_key", ParamType::Text, "", 0, 0, {}, "A = Q^T K row-major 'a11;a12;...' (d x d; overrides beta)"},
            {"value", ParamType::Text, "", 0, 0, {}, "V row-major (d x d; default the identity)"},
            {"normalization", ParamType::Choice, "softmax", 0, 0, {"softmax", "sinkhorn"}, "row softmax, or the Sinkformer's doubly stochastic P"},
            {"sinkhorn_iterations", ParamType::Integer, "10", 1, 10000, {}, "sinkhorn: (row, column) normalisation rounds", "normalization=sinkhorn"},
            {"geometry", ParamType::Choice, "euclidean", 0, 0, {"euclidean", "sphere"},
             "sphere: tokens on the unit sphere, velocity projected on its tangent space"},
            {"integrator", ParamType::Choice, "rk4", 0, 0, {"euler", "heun", "rk4"}, "time integrator"},
            {"steps", ParamType::Integer, "300", 1, 10000000, {}, "time steps over the whole duration"},
            {"precision", ParamType::Choice, "float", 0, 0, {"float", "double"},
             "pair sums in float (about twice as fast; averages to ~1e-6 relative) or double"},
            {"cluster_tolerance", ParamType::Real, "0.05", 1e-9, 1e6, {}, "clusters: tokens closer than this (absolute distance) are linked"},
        },
        [] { return std::make_unique<Attention>(); }};
    info.needsTarget = false;
    info.validate = [](const ParamValues& p, const std::string& ctx) {
        parseMatrix(p.text("query_key"), 0, {}, "query_key", ctx);
        parseMatrix(p.text("value"), 0, {}, "value", ctx);
    };
    return info;
}

}  // namespace tl::dyn
