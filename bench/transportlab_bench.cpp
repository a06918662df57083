// transportlab-bench: measures the kernel-reduction engine and the OT solvers on given
// instances and prints one JSON object; bench/run_benchmarks.py runs it beside POT (same
// instances, separate processes so peak RSS is per case) and prints the ratios.
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stop_token>
#include <thread>
#include <iostream>
#include <mutex>
#include <vector>

#include "util/simd.h"
#include "cli/args.h"
#include "engine/metrics.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "flows/empirical_posterior.h"
#include "eulerian/benamou_brenier.h"
#include "gradient_flows/grid.h"
#include "ot/gaussian.h"
#include "gradient_flows/jko.h"
#include "tokens/attention_kernel.h"
#include "util/parallel.h"
#include "gradient_flows/pair_forces.h"
#include "kernels/reduce.h"
#include "measure/spec.h"
#include "ot/exact.h"
#include "ot/sinkhorn.h"
#include "util/error.h"
#include "util/rng.h"

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

// Every benchmark prints one JSON line naming the SIMD target that ran ("simd", lower case; TL_SIMD
// caps it: util/simd.h), unless the benchmark set it itself (pair forces: their own kernels).
void emit(nlohmann::json& j) {
    if (!j.contains("simd")) j["simd"] = tl::simd::activeTarget();
    std::cout << j.dump() << std::endl;
}

}  // namespace

namespace {

double peakRssMb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::atomic<bool> latencyDone{false};

template <class T>
json kernelCase(std::size_t n, std::size_t m, int threads, int reps, bool reference) {
    tl::Rng rng(7);
    std::vector<T> x(n * 2), y(m * 2), h(m), out(n);
    for (auto& v : x) v = static_cast<T>(rng.normal());
    for (auto& v : y) v = static_cast<T>(rng.uniform());
    for (auto& v : h) v = static_cast<T>(rng.uniform(-1, 1));
    tl::kernels::PairSet<T> ps{2, x.data(), n, y.data(), m, h.data(), T(10)};
    auto run = [&] { reference ? tl::kernels::reference::logSumExp(ps, out.data()) : tl::kernels::logSumExp(ps, out.data(), threads); };
    run();  // warm up (thread pool, caches)
    double best = 1e300;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        run();
        best = std::min(best, since(t0));
    }
    return {{"ns_per_pair", best * 1e9 / (static_cast<double>(n) * static_cast<double>(m))}, {"seconds", best}};
}

int benchKernel(const tl::cli::Args& a) {
    const auto n = static_cast<std::size_t>(a.integer("n", 4000, 1, 1'000'000));
    const int reps = static_cast<int>(a.integer("reps", 5, 1, 1000));
    json j;
    j["simd"] = tl::kernels::simdTargetName();  // the target that ran (util/simd.h)
    j["n"] = n;
    for (int threads : {1, 2}) {
        j["double"][std::to_string(threads)] = kernelCase<double>(n, n, threads, reps, false);
        j["float"][std::to_string(threads)] = kernelCase<float>(n, n, threads, reps, false);
    }
    const std::size_t nr = std::min<std::size_t>(n, 1000);  // scalar reference is slow: smaller instance
    j["double"]["scalar_reference"] = kernelCase<double>(nr, nr, 1, 2, true);
    j["float"]["scalar_reference"] = kernelCase<float>(nr, nr, 1, 2, true);
    emit(j);
    return 0;
}

tl::SinkhornPrecision parsePrecision(const std::string& s) {
    if (s == "auto") return tl::SinkhornPrecision::Auto;
    if (s == "double") return tl::SinkhornPrecision::Double;
    if (s == "float") return tl::SinkhornPrecision::Float;
    throw tl::Error("--precision must be auto, double or float");
}

// Sinkhorn at --epsilon (--precision auto|double|float, default auto): with --converge a solve to
// --tolerance (cost, iterations, how many ran in float, the L1 marginal error measured in double);
// else seconds per iteration at the final epsilon (float: every iteration in float).
int benchSinkhorn(const tl::cli::Args& a) {
    const auto x = tl::measureFromSpec(a.required("source")), y = tl::measureFromSpec(a.required("target"));
    tl::SinkhornOptions o;
    o.epsilon = a.real("epsilon", 0.1, 1e-12, 1e12);
    o.threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    o.precision = parsePrecision(a.text("precision", "auto"));
    json j;
    j["n"] = x.size();
    j["epsilon"] = o.epsilon;
    j["precision"] = a.text("precision", "auto");
    j["threads"] = tl::resolveThreads(o.threads);
    if (a.has("converge")) {  // a converged solve, for agreement checks
        o.tolerance = a.real("tolerance", 1e-9, 1e-300, 1);
        const auto t0 = Clock::now();
        const auto r = tl::sinkhorn(x, y, o);
        j["seconds"] = since(t0);
        j["cost"] = r.cost;
        j["iterations"] = r.iterations;
        j["float_iterations"] = r.floatIterations;
        j["marginal_error"] = r.marginalError;
        j["status"] = tl::statusName(r.status);
    } else {  // time per iteration at the final epsilon: difference of two fixed-length runs
        o.epsilonScaling = false;
        o.tolerance = 1e-300;
        const int k1 = static_cast<int>(a.integer("k1", 3, 1, 100000)), k2 = static_cast<int>(a.integer("k2", 13, 2, 100000));
        const int reps = static_cast<int>(a.integer("reps", 3, 1, 100));
        double t[2] = {1e300, 1e300};  // best of `reps` for each length: robust to noisy neighbours
        for (int rep = 0; rep < reps; ++rep) {
            int idx = 0;
            for (int k : {k1, k2}) {
                o.maxIterations = k;
                const auto t0 = Clock::now();
                tl::sinkhorn(x, y, o);
                t[idx] = std::min(t[idx], since(t0));
                ++idx;
            }
        }
        const double perIteration = (t[1] - t[0]) / (k2 - k1);
        j["seconds_per_iteration"] = perIteration;
        // The absolute rate, to hold against the machine's limit (the ratio to POT moves with NumPy's
        // own SIMD): one iteration evaluates exp(f_i + g_j - c_ij / eps) for every pair twice (the f
        // and the g half-steps).
        j["kernel_evaluations_per_second_per_core"] =
            2.0 * static_cast<double>(x.size()) * static_cast<double>(y.size()) / perIteration / tl::resolveThreads(o.threads);
    }
    j["peak_rss_mb"] = peakRssMb();
    emit(j);
    return 0;
}

// Exact OT (network simplex): best-of-reps wall seconds, cost, pivots; --threads for the simplex's
// parallel parts (initial basis, long pricing scans; default 0 = all cores). Also the CPU seconds of
// the process (user + system) over all reps divided by reps, a load-independent companion of the
// wall time, and how long a stop request takes to be honoured (--cancel-after S: request a stop
// after S seconds of the next solve and time the return).
int benchExact(const tl::cli::Args& a) {
    const auto x = tl::measureFromSpec(a.required("source")), y = tl::measureFromSpec(a.required("target"));
    tl::ExactOptions o;
    o.threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    const int reps = static_cast<int>(a.integer("reps", 3, 1, 100));
    double best = 1e300;
    tl::OtResult r;
    auto cpu = [] {
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    };
    const double c0 = cpu();
    for (int rep = 0; rep < reps; ++rep) {
        const auto t0 = Clock::now();
        r = tl::solveExact(x, y, o);
        best = std::min(best, since(t0));
    }
    json j;
    j["cpu_seconds"] = (cpu() - c0) / reps;
    if (a.has("cancel-after")) {
        const double after = a.real("cancel-after", 0.5, 0, 1e6);
        std::stop_source src;
        o.stop = src.get_token();
        double latency = 0;
        std::thread stopper([&] {
            std::this_thread::sleep_for(std::chrono::duration<double>(after));
            const auto t1 = Clock::now();
            src.request_stop();
            while (!latencyDone.load()) std::this_thread::yield();
            latency = since(t1);
        });
        const auto rc = tl::solveExact(x, y, o);
        latencyDone.store(true);
        stopper.join();
        j["cancel_status"] = tl::statusName(rc.status);
        j["cancel_latency_seconds"] = latency;
    }
    j["seconds"] = best;  // includes the cost matrix, as ot.emd2 + ot.dist does
    j["cost"] = r.cost;
    j["pivots"] = r.iterations;
    j["threads"] = tl::resolveThreads(o.threads);
    j["n"] = x.size();
    j["peak_rss_mb"] = peakRssMb();
    emit(j);
    return 0;
}


// Sinkhorn divergence over --frames frames x_k = (1 - t_k) x + t_k y_(i mod m), t_k = 0.8 k / frames
// (particles moving towards the target, as the app's frames do), against the fixed target, at
// --epsilon and --tolerance (default 1e-3, the app's metric): cold starts vs each frame warm-started
// from the previous frame's potentials. Iterations (all three solves), seconds and the largest
// difference between the two series of values.
int benchDivergence(const tl::cli::Args& a) {
    const auto x = tl::measureFromSpec(a.required("source")), y = tl::measureFromSpec(a.required("target"));
    tl::SinkhornOptions o;
    o.epsilon = a.real("epsilon", 0.1, 1e-12, 1e12);
    o.tolerance = a.real("tolerance", 1e-3, 1e-300, 1);
    o.threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    o.precision = parsePrecision(a.text("precision", "auto"));
    const int frames = static_cast<int>(a.integer("frames", 6, 1, 1000));
    std::vector<tl::PointCloud> xs;
    for (int k = 0; k < frames; ++k) {
        tl::PointCloud f = x;
        const double t = 0.8 * k / frames;
        for (std::size_t i = 0; i < f.size(); ++i)
            for (int c = 0; c < f.dim; ++c) f.point(i)[c] = (1 - t) * x.point(i)[c] + t * y.point(i % y.size())[c];
        xs.push_back(std::move(f));
    }
    json j;
    j["n"] = x.size();
    j["frames"] = frames;
    j["epsilon"] = o.epsilon;
    j["tolerance"] = o.tolerance;
    int itCold = 0, itWarm = 0;
    double maxDiff = 0, sCold = 0, sWarm = 0;
    std::vector<double> cold;
    auto t0 = Clock::now();
    for (const auto& f : xs) {
        const auto d = tl::solveSinkhornDivergence(f, y, o);
        itCold += d.iterations();
        cold.push_back(d.divergence);
    }
    sCold = since(t0);
    t0 = Clock::now();
    tl::SinkhornOptions w = o;
    for (int k = 0; k < frames; ++k) {
        const auto d = tl::solveSinkhornDivergence(xs[k], y, w);
        itWarm += d.iterations();
        maxDiff = std::max(maxDiff, std::abs(d.divergence - cold[k]));
        w.initialF = d.f;
        w.initialG = d.g;
        w.initialSymmetricX = d.symmetricX;
        w.initialSymmetricY = d.symmetricY;
    }
    sWarm = since(t0);
    j["cold_iterations"] = itCold;
    j["warm_iterations"] = itWarm;
    j["cold_seconds"] = sCold;
    j["warm_seconds"] = sWarm;
    j["max_value_difference"] = maxDiff;
    j["last_divergence"] = cold.back();
    emit(j);
    return 0;
}

// Closed-form flow-matching field (science.md §2) at N = M = n: seconds per evaluation and ns per
// (particle, target) pair, beside the bare kernel on the same sizes (log-sum-exp, and the
// softmax-weighted sum with 2-D values that the field uses).
int benchFmField(const tl::cli::Args& a) {
    const auto n = static_cast<std::size_t>(a.integer("n", 2000, 1, 1'000'000));
    const int reps = static_cast<int>(a.integer("reps", 5, 1, 1000));
    const tl::Measure src = tl::sampleMeasure("gaussian:n=" + std::to_string(n) + ",seed=1");
    const tl::Measure tgt = tl::sampleMeasure("moons:n=" + std::to_string(n) + ",seed=2");
    const tl::EmpiricalPosterior post(*src.law, tgt.cloud, static_cast<int>(a.integer("threads", 0, 0, 256)));
    const Eigen::MatrixXd X = src.cloud.matrix();
    post.flowVelocity(0.5, X);
    double best = 1e300;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        post.flowVelocity(0.5, X);
        best = std::min(best, since(t0));
    }
    const double pairs = static_cast<double>(n) * static_cast<double>(n);
    json j;
    j["n"] = n;
    j["field_seconds"] = best;
    j["field_ns_per_pair"] = best * 1e9 / pairs;
    // The kernel alone on the same instance and threads: the field's floor.
    std::vector<double> x = src.cloud.points, y = tgt.cloud.points, out(2 * n), lse(n);
    tl::kernels::PairSet<double> ps{2, x.data(), n, y.data(), n, nullptr, 2.0};
    double kbest = 1e300, lbest = 1e300;
    for (int r = 0; r < reps + 1; ++r) {
        auto t0 = Clock::now();
        tl::kernels::softmaxWeightedSum(ps, y.data(), 2, out.data(), lse.data(), 0);
        if (r) kbest = std::min(kbest, since(t0));
        t0 = Clock::now();
        tl::kernels::logSumExp(ps, lse.data(), 0);
        if (r) lbest = std::min(lbest, since(t0));
    }
    j["kernel_weighted_sum_ns_per_pair"] = kbest * 1e9 / pairs;
    j["kernel_logsumexp_ns_per_pair"] = lbest * 1e9 / pairs;
    emit(j);
    return 0;
}

// All-pairs interaction forces (science.md §4 (17)) for W = |z|^4/4 - |z|^2/2 on n 2-D points
// (--source SPEC, default gaussian:n=<n>,seed=11; weights from the measure): best-of-reps seconds
// per evaluation on 1 and 2 threads, ns per pair on 1 thread, and the weighted force norm
// sqrt(sum_i w_i |F_i|^2) for an agreement check with the NumPy peer (bench/run_benchmarks.py).
int benchPairForces(const tl::cli::Args& a) {
    const auto n0 = static_cast<std::size_t>(a.integer("n", 10000, 1, 1'000'000));
    const int reps = static_cast<int>(a.integer("reps", 5, 1, 1000));
    const tl::PointCloud cloud = tl::measureFromSpec(a.text("source", "gaussian:n=" + std::to_string(n0) + ",seed=11"));
    const std::size_t n = cloud.size();
    const int dim = cloud.dim;
    const tl::gf::PairKernel k = tl::gf::attractiveRepulsive(4, 2);
    std::vector<double> out(n * dim);
    json j;
    j["simd"] = tl::gf::pairForcesTargetName();
    j["n"] = n;
    j["dim"] = dim;
    for (int threads : {1, 2}) {
        tl::gf::pairForces(dim, cloud.points.data(), cloud.weights.data(), n, k, out.data(), threads);  // warm up
        double best = 1e300;
        for (int r = 0; r < reps; ++r) {
            const auto t0 = Clock::now();
            tl::gf::pairForces(dim, cloud.points.data(), cloud.weights.data(), n, k, out.data(), threads);
            best = std::min(best, since(t0));
        }
        j[threads == 1 ? "seconds_1_thread" : "seconds_2_threads"] = best;
    }
    j["ns_per_pair"] = j["seconds_1_thread"].get<double>() * 1e9 / (static_cast<double>(n) * static_cast<double>(n));
    double norm2 = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (int c = 0; c < dim; ++c) norm2 += cloud.weights[i] * out[i * dim + c] * out[i * dim + c];
    j["force_norm"] = std::sqrt(norm2);
    emit(j);
    return 0;
}

// One attention evaluation on the sphere (science.md §6): v_i = P_perp(x_i) sum_j softmax_j(beta <x_i, x_j>) x_j
// for n tokens in 3-D (--source, default sphere:n=<n>), best of --reps, 1 and 2 threads; prints the
// velocity norm so the NumPy peer's result can be compared.
int benchAttention(const tl::cli::Args& a) {
    const auto n0 = static_cast<std::size_t>(a.integer("n", 10000, 1, 1'000'000));
    const int reps = static_cast<int>(a.integer("reps", 5, 1, 1000));
    const double beta = a.real("epsilon", 1.0, 0, 1000);  // reuses --epsilon as beta
    const tl::PointCloud cloud = tl::measureFromSpec(a.text("source", "sphere:n=" + std::to_string(n0) + ",dim=3,seed=11"));
    const Eigen::MatrixXd X = cloud.matrix();
    const Eigen::MatrixXd A = beta * Eigen::MatrixXd::Identity(cloud.dim, cloud.dim);
    Eigen::MatrixXd v;
    auto once = [&](int threads, bool single) {
        v = tl::tokens::attention(X, A, 0, threads, single).average;
        for (Eigen::Index i = 0; i < X.rows(); ++i) v.row(i) -= v.row(i).dot(X.row(i)) * X.row(i);
    };
    json j;
    j["simd"] = tl::kernels::simdTargetName();  // the target that ran (util/simd.h)
    j["n"] = cloud.size();
    j["beta"] = beta;
    for (bool single : {false, true})
        for (int threads : {1, 2}) {
            once(threads, single);
            double best = 1e300;
            for (int r = 0; r < reps; ++r) {
                const auto t0 = Clock::now();
                once(threads, single);
                best = std::min(best, since(t0));
            }
            j[std::string(single ? "float_" : "") + (threads == 1 ? "seconds_1_thread" : "seconds_2_threads")] = best;
            j[single ? "float_velocity_norm" : "velocity_norm"] = v.norm();
        }
    emit(j);
    return 0;
}

// Wall time of a whole scenario through the Runner (sampling, all panels, metrics), no file output.
// A scenario as the app computes it: per panel the seconds until it moves (a frame past t = 0 is
// there to draw), until all its frames are there, and until its run (metrics included) is done.
int benchScenario(const tl::cli::Args& a) {
    const tl::Scenario sc = tl::loadScenario(a.required("scenario"));
    const auto t0 = Clock::now();
    tl::Runner runner(sc, static_cast<int>(a.integer("threads", 0, 0, 256)));
    const std::size_t n = runner.panelCount(), frames = static_cast<std::size_t>(sc.frames);
    std::mutex m;
    std::vector<double> moving(n, -1), complete(n, -1);
    runner.setUpdateCallback([&] {
        std::lock_guard<std::mutex> lk(m);
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t have = runner.history(k)->size();
            if (moving[k] < 0 && have >= 2) moving[k] = since(t0);
            if (complete[k] < 0 && have >= frames) complete[k] = since(t0);
        }
    });
    runner.start();
    double cancelLatency = -1;
    if (a.has("cancel-after")) {
        // Cancel mid-run and time how long the runner takes to stop (issue 11: within 100 ms).
        const double after = a.real("cancel-after", 0.5, 0, 1e6);
        if (!runner.waitIdle(std::chrono::milliseconds(static_cast<long>(1000 * after)))) {
            const auto c0 = Clock::now();
            runner.cancel();
            runner.waitIdle();
            cancelLatency = since(c0);
        }
    }
    runner.waitIdle();
    json j;
    j["seconds"] = since(t0);
    j["scenario"] = sc.name;
    if (a.has("cancel-after")) j["cancel_latency_seconds"] = cancelLatency < 0 ? json(nullptr) : json(cancelLatency);
    json panels = json::array();
    double firstAll = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const auto st = runner.status(k);
        std::lock_guard<std::mutex> lk(m);
        firstAll = std::max(firstAll, moving[k]);
        panels.push_back({{"dynamics", sc.panels[k].dynamics}, {"state", tl::panelStateName(st.state)}, {"seconds", st.seconds},
                          {"moving_after", moving[k]}, {"frames_after", complete[k]}, {"nfe", st.summary.nfe}});
    }
    j["all_moving_after"] = firstAll;
    j["panels"] = panels;
    j["peak_rss_mb"] = peakRssMb();
    emit(j);
    return 0;
}

// One entropic JKO step (heat, default epsilon/tau of the gradient-flow dynamics) on an n x n grid
// from a Gaussian, after one warm-up step (the dynamics warm-starts every step from the previous
// one). The bound: a scaling iteration streams at least ~11 grid arrays (two separable
// convolutions: in, scratch, out each way; the prox reads Ka and writes q and b) through memory;
// its time at the triad bandwidth measured in the same run.
int benchJko(const tl::cli::Args& a) {
    const int n = static_cast<int>(a.integer("n", 256, 8, 4096));
    const int reps = static_cast<int>(a.integer("reps", 3, 1, 100));
    const int threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    const tl::Measure src = tl::sampleMeasure("gaussian:n=100,cov=0.5;0.2;0.2;0.3,seed=1");
    const tl::gf::Projection proj = tl::gf::projectMeasure(src, n, 4.0, "bench");
    tl::gf::JkoEnergy energy;
    tl::gf::JkoOptions opt;
    opt.threads = threads;
    tl::gf::JkoSolver solver(proj.grid, energy, opt);
    solver.step(0.01);  // warm-up: the dynamics always warm-starts from the previous step
    double best = 1e300;
    int iterations = 0;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        iterations = solver.step(0.01);
        best = std::min(best, since(t0));
    }
    // triad a = b + s c over 3 arrays of 32 MB (beyond the caches), best of 5
    const std::size_t m = std::size_t(4) << 20;
    std::vector<double> x(m, 1.0), y(m, 2.0), z(m, 0.0);
    double triad = 1e300;
    for (int r = 0; r < 5; ++r) {
        const auto t0 = Clock::now();
        tl::parallelFor(m, 1 << 16, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) z[i] = x[i] + 0.5 * y[i];
        });
        triad = std::min(triad, since(t0));
    }
    const double bandwidth = 3.0 * 8.0 * static_cast<double>(m) / triad;  // bytes/s
    const double bytesPerIteration = 11.0 * 8.0 * static_cast<double>(n) * n;
    const double perIteration = best / (iterations + 1);  // + the final a-update
    json j;
    j["grid"] = n;
    j["seconds_per_step"] = best;
    j["iterations"] = iterations;
    j["seconds_per_iteration"] = perIteration;
    j["bandwidth_gb_s"] = bandwidth / 1e9;
    j["bound_seconds_per_iteration"] = bytesPerIteration / bandwidth;
    j["ratio_to_bound"] = perIteration / (bytesPerIteration / bandwidth);
    j["kernel_radius_cells"] = tl::gf::GaussianConvolution(n, 8.0 / n, opt.epsilon).radius();
    emit(j);
    return 0;
}

// Benamou-Brenier between the two non-commuting Gaussians of tst_eulerian_dynamics on n^2 x time_steps
// (default 64^2 x 32): wall time to the default tolerance, per iteration, the Poisson share, and the
// accuracy the checks ask for (kinetic energy vs the Bures W2^2, covariance at t = 1/2).
int benchBenamou(const tl::cli::Args& a) {
    const int n = static_cast<int>(a.integer("n", 64, 8, 512));
    const int steps = static_cast<int>(a.integer("time-steps", 32, 2, 1024));
    const int threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    Eigen::Vector2d m0(-1, 0.3), m1(1, -0.2);
    Eigen::Matrix2d S0, S1;
    S0 << 0.5, 0.25, 0.25, 0.3;
    S1 << 0.25, -0.1, -0.1, 0.6;
    const tl::Measure src = tl::sampleMeasure("gaussian:n=10,mean=-1;0.3,cov=0.5;0.25;0.25;0.3,seed=1");
    const tl::Measure dst = tl::sampleMeasure("gaussian:n=10,mean=1;-0.2,cov=0.25;-0.1;-0.1;0.6,seed=2");
    const tl::gf::Projection p0 = tl::gf::projectMeasure(src, n, 4.0, "bench"), p1 = tl::gf::projectMeasure(dst, n, 4.0, "bench");
    tl::eulerian::BenamouBrenierOptions o;
    o.timeSteps = steps;
    o.threads = threads;
    const auto t0 = Clock::now();
    const tl::eulerian::BenamouBrenierResult r = tl::eulerian::benamouBrenier(p0.grid, p1.grid, o);
    const double seconds = since(t0);
    const tl::GaussianOt g = tl::GaussianOt::fromParameters(m0, S0, m1, S1);
    const tl::DensityGrid& mid = r.densities[static_cast<std::size_t>(steps / 2)];
    const tl::GridMoments mm = tl::gridMoments(mid);
    json j;
    j["grid"] = n;
    j["time_steps"] = steps;
    j["seconds"] = seconds;
    j["iterations"] = r.iterations;
    j["coarse_iterations"] = r.coarseIterations;
    j["seconds_per_iteration"] = r.secondsPerIteration;
    j["poisson_share"] = r.poissonFraction;
    j["kinetic_energy"] = r.kineticEnergy;
    j["bures_w2_squared"] = g.w2sq;
    j["kinetic_energy_rel_error"] = std::abs(r.kineticEnergy - g.w2sq) / g.w2sq;
    j["covariance_rel_error_at_half"] = (mm.cov - g.covarianceAt(0.5)).norm() / g.covarianceAt(0.5).norm();
    emit(j);
    return 0;
}

// Cancel latency of the long operations (issue 18 §4): each case is a one-panel scenario started on
// a Runner; once the panel's stage starts with `stage` (the operation is under way) and a further
// delay has passed (10 ms + 9 ms per repetition, so the stop lands at different points), cancel()
// is requested and the time until the runner is idle measured. 10 repetitions per case (--reps);
// median and max. A repetition in which the run finished before the stop counts as missed.
int benchCancel(const tl::cli::Args& a) {
    struct Case {
        const char* name;
        std::string json;
        const char* stage;
    };
    auto one = [](const std::string& source, const std::string& target, const std::string& panel, const std::string& extra = "") {
        return "{\"source\": \"" + source + "\"" + (target.empty() ? "" : ", \"target\": \"" + target + "\"") +
               ", \"frames\": 11" + extra + ", \"panels\": [" + panel + "]}";
    };
    const std::vector<Case> cases = {
        {"flow-matching closed-form field, n = 20000 against 20000 targets",
         one("gaussian:n=20000,seed=1", "moons:n=20000,seed=2", "{\"dynamics\": \"flow-matching\"}"), "frame 1/"},
        {"Sinkhorn divergence metric, n = 20000 (every particle)",
         one("gaussian:n=20000,seed=1", "moons:n=20000,seed=2", "{\"dynamics\": \"ot-displacement\", \"method\": \"gaussian\"}",
             ", \"divergence_samples\": 0"),
         "computing the Sinkhorn divergence"},
        {"exact OT (network simplex pricing), n = 5000",
         one("gaussian:n=5000,seed=1", "moons:n=5000,seed=2", "{\"dynamics\": \"ot-displacement\"}"), ""},
        {"Benamou-Brenier 128^2 x 64", one("gaussian:n=2000,mean=-1;0,cov=0.3,seed=1", "gaussian:n=2000,mean=1;0,cov=0.3,seed=2",
                                           "{\"dynamics\": \"benamou-brenier\", \"grid\": 128, \"time_steps\": 64}"), ""},
        {"JKO steps, heat on 256^2", one("gaussian:n=2000,cov=0.3,seed=1", "", "{\"dynamics\": \"gradient-flow\", \"grid\": 256}"), ""},
    };
    const int reps = static_cast<int>(a.integer("reps", 10, 1, 1000));
    const int threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    json out = json::array();
    for (const Case& c : cases) {
        const tl::Scenario sc = tl::parseScenario(c.json, ".", "cancel");
        std::vector<double> lat;
        int missed = 0;
        for (int r = 0; r < reps; ++r) {
            tl::Runner runner(sc, threads);
            runner.start();
            const auto start = Clock::now();
            bool under = false;
            while (since(start) < 300) {
                const tl::PanelStatus st = runner.status(0);
                if (st.state != tl::PanelState::Running && st.state != tl::PanelState::Pending) break;
                if (st.state == tl::PanelState::Running && st.stage.rfind(c.stage, 0) == 0 && st.stage != "starting") {
                    under = true;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10 + 9 * r));
            const auto c0 = Clock::now();
            runner.cancel();
            runner.waitIdle();
            const double l = since(c0);
            // (a stop during the divergence metric leaves the panel Done: its frames were complete)
            if (!under) ++missed;
            else lat.push_back(l);
        }
        std::sort(lat.begin(), lat.end());
        json j;
        j["case"] = c.name;
        j["cancelled"] = lat.size();
        j["missed"] = missed;
        j["median_ms"] = lat.empty() ? json(nullptr) : json(1e3 * lat[lat.size() / 2]);
        j["max_ms"] = lat.empty() ? json(nullptr) : json(1e3 * lat.back());
        out.push_back(j);
        std::cerr << c.name << ": " << lat.size() << " cancelled, median " << (lat.empty() ? -1 : 1e3 * lat[lat.size() / 2])
                  << " ms, max " << (lat.empty() ? -1 : 1e3 * lat.back()) << " ms" << (missed ? " (" + std::to_string(missed) + " missed)" : "") << "\n";
    }
    json j;
    j["cases"] = out;
    emit(j);
    return 0;
}

const std::vector<tl::cli::OptionSpec> kOptions = {
    {"source", true, "source SPEC"}, {"target", true, "target SPEC"}, {"epsilon", true, "Sinkhorn epsilon"},
    {"threads", true, "threads"},    {"n", true, "kernel size"},      {"reps", true, "repetitions (best of)"},
    {"k1", true, "short run iterations"}, {"k2", true, "long run iterations"}, {"converge", false, "converged solve"},
    {"tolerance", true, "tolerance for --converge"}, {"scenario", true, "scenario JSON (scenario benchmark)"},
    {"time-steps", true, "time cells (benamou)"},
    {"precision", true, "sinkhorn kernel precision: auto | double | float"},
    {"cancel-after", true, "exact, scenario: request a stop after this many seconds and time the return (null: it had finished)"},
    {"frames", true, "divergence: frames"},
};

// One row per benchmark (a new one: its function above and a row here).
const std::vector<std::pair<std::string, int (*)(const tl::cli::Args&)>> kBenchmarks = {
    {"kernel", benchKernel},         {"sinkhorn", benchSinkhorn},     {"divergence", benchDivergence},
    {"exact", benchExact},           {"fm-field", benchFmField},      {"pairforces", benchPairForces},
    {"jko", benchJko},               {"attention", benchAttention},   {"benamou", benchBenamou},
    {"scenario", benchScenario},     {"cancel", benchCancel},
};

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string names;
    for (const auto& [name, fn] : kBenchmarks) names += (names.empty() ? "" : "|") + name;
    if (args.empty()) {
        std::cerr << "usage: transportlab-bench " << names << " [options]\n" << tl::cli::usageOf(kOptions);
        return 2;
    }
    try {
        tl::simd::configure();
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
    try {
        const std::string cmd = args[0];
        tl::cli::Args a(std::vector<std::string>(args.begin() + 1, args.end()), kOptions);
        for (const auto& [name, fn] : kBenchmarks)
            if (name == cmd) return fn(a);
        std::cerr << "error: unknown benchmark '" << cmd << "' (known: " << names << ")\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
