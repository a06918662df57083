// trajectory-inference (science.md §4, survey §5.4, Waddington-OT style): the scenario's snapshots
// (populations observed at increasing times) are coupled pairwise by OT (exact or entropic) and
// particles move by displacement interpolation along the couplings, chained: row i of every frame
// is the particle that starts at point i of the first snapshot (where a coupling splits a point's
// mass, the next point is drawn from the coupling's row with the seeded RNG). OT recovers the
// paths of a flow whose maps between snapshots are gradients of convex functions (e.g. x -> (I + tB) x,
// B symmetric); a rotation is the classic case it cannot recover (it pairs by proximity instead).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "dynamics/registry.h"
#include "ot/exact.h"
#include "ot/sinkhorn.h"
#include "util/error.h"
#include "util/rng.h"

namespace tl::dyn {

namespace {

// The OT coupling (plan) of two consecutive snapshots, exact or entropic at `epsilon`.
OtResult couple(const PointCloud& x, const PointCloud& y, OtMethod method, double epsilon, RunContext& ctx) {
    if (method == OtMethod::Exact) return solveExact(x, y, ExactOptions{.threads = ctx.threads, .stop = ctx.stop});
    SinkhornOptions so;
    so.epsilon = epsilon;
    so.threads = ctx.threads;
    so.computePlan = true;
    so.tolerance = 1e-5;  // the coupling is sampled, not its marginals: 1e-5 in L1 is plenty
    so.progress = [&](int, double) { return !ctx.cancelled(); };
    return sinkhorn(x, y, so);  // sliced to OtResult
}

class TrajectoryInference : public Dynamics {
public:
    RunSummary run(const Measure&, const Measure&, const ParamValues& p, const std::vector<double>& times, RunContext& ctx) override {
        const std::string who = "trajectory-inference";
        const auto& snaps = ctx.snapshots;
        if (snaps.size() < 2) throw Error(who + " needs key 'snapshots' (at least 2)");
        const int d = snaps.front().measure->cloud.dim;
        const OtMethod coupling = parseOtMethod(p.choice("coupling"));  // exact or sinkhorn
        const double epsilon = p.real("epsilon");
        Rng rng(static_cast<std::uint64_t>(p.integer("seed")));
        const std::size_t n = snaps.front().measure->cloud.size();
        // idx[k][i]: the point of snapshot k that particle i occupies.
        std::vector<std::vector<std::uint32_t>> idx(snaps.size(), std::vector<std::uint32_t>(n));
        for (std::size_t i = 0; i < n; ++i) idx[0][i] = static_cast<std::uint32_t>(i);
        RunSummary sum;
        double totalCost = 0;
        std::size_t split = 0;
        for (std::size_t k = 0; k + 1 < snaps.size(); ++k) {
            if (ctx.progress) ctx.progress(static_cast<double>(k) / (snaps.size() - 1), "coupling snapshots " + std::to_string(k) + " -> " + std::to_string(k + 1));
            const PointCloud& x = snaps[k].measure->cloud;
            const PointCloud& y = snaps[k + 1].measure->cloud;
            const OtResult r = couple(x, y, coupling, epsilon, ctx);
            if (ctx.cancelled() || r.status == OtStatus::Cancelled) {
                sum.cancelled = true;
                return sum;
            }
            if (r.status == OtStatus::MaxIterations && !r.plan.empty()) {
                sum.note += "; coupling " + std::to_string(k) + " stopped at the iteration cap (marginal error " + std::to_string(r.marginalError) + ")";
            } else if (!r.ok()) throw Error(who + ": coupling snapshots " + std::to_string(k) + " and " + std::to_string(k + 1) + ": " + r.message);
            totalCost += r.cost;
            // rows of the plan: the conditional law of the next point given the current one
            std::vector<std::vector<std::pair<std::uint32_t, double>>> rows(x.size());
            for (const auto& e : r.plan) rows[e.i].push_back({e.j, e.mass});
            for (std::size_t i = 0; i < n; ++i) {
                const auto& row = rows[idx[k][i]];
                if (row.empty()) throw Error(who + ": the coupling gives point " + std::to_string(idx[k][i]) + " of snapshot " + std::to_string(k) + " no mass");
                if (row.size() > 1) ++split;
                double total = 0;
                for (const auto& [j, m] : row) total += m;
                double u = rng.uniform() * total;
                std::uint32_t pick = row.back().first;
                for (const auto& [j, m] : row) {
                    if (u < m) {
                        pick = j;
                        break;
                    }
                    u -= m;
                }
                idx[k + 1][i] = pick;
            }
        }
        auto pointOf = [&](std::size_t k, std::size_t i, int c) { return snaps[k].measure->cloud.point(idx[k][i])[c]; };
        const std::vector<double> weights(n, 1.0 / static_cast<double>(n));
        const double frameGap = times.size() > 1 ? (times.back() - times.front()) / (times.size() - 1) : 1.0;
        for (double t : times) {
            if (ctx.cancelled()) {
                sum.cancelled = true;
                return sum;
            }
            // the segment [t_k, t_k+1] holding t (clamped to the observed range)
            std::size_t k = 0;
            while (k + 2 < snaps.size() && t > snaps[k + 1].time) ++k;
            const double t0 = snaps[k].time, t1 = snaps[k + 1].time;
            const double s = std::clamp((t - t0) / (t1 - t0), 0.0, 1.0);
            const bool moving = t > t0 - 1e-12 && t < t1 + 1e-12;
            Frame f;
            f.t = t;
            f.dim = d;
            f.weights = weights;
            f.positions.resize(n * d);
            f.velocities.resize(n * d);
            for (std::size_t i = 0; i < n; ++i)
                for (int c = 0; c < d; ++c) {
                    const double a = pointOf(k, i, c), b = pointOf(k + 1, i, c);
                    f.positions[i * d + c] = (1 - s) * a + s * b;
                    f.velocities[i * d + c] = moving ? (b - a) / (t1 - t0) : 0.0;
                }
            for (std::size_t q = 0; q < snaps.size(); ++q)
                if (std::abs(snaps[q].time - t) <= 0.5 * frameGap + 1e-12) {
                    std::ostringstream label;
                    label << "snapshot t = " << snaps[q].time;
                    f.markers.push_back({label.str(), d, snaps[q].measure->cloud.points, true});
                }
            ctx.publish(std::move(f));
        }
        std::ostringstream note;
        note << snaps.size() << " snapshots coupled by " << (coupling == OtMethod::Exact ? "exact OT" : "entropic OT");
        if (split) note << "; " << split << " particle steps drawn from split couplings";
        sum.note = note.str() + sum.note;
        sum.extras.emplace_back("coupling_cost", totalCost);
        return sum;
    }
};

}  // namespace

DynamicsInfo trajectoryInferenceInfo() {
    DynamicsInfo info{"trajectory-inference",
                      "Paths inferred from snapshots of a population by chaining OT couplings between consecutive snapshots "
                      "(science.md §4, survey §5.4)",
                      {
                          {"coupling", ParamType::Choice, "exact", 0, 0, {"exact", "sinkhorn"}, "OT between consecutive snapshots"},
                          {"epsilon", ParamType::Real, "0.01", 1e-8, 1e6, {}, "sinkhorn: entropic regularisation (absolute)", "coupling=sinkhorn"},
                          {"seed", ParamType::Integer, "0", 0, 1e15, {}, "draws the next point where a coupling splits a point's mass"},
                      },
                      [] { return std::make_unique<TrajectoryInference>(); }};
    info.needsTarget = false;
    info.needsSnapshots = true;
    return info;
}

}  // namespace tl::dyn
