#include "cli/cli.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>

#include "cli/args.h"
#include "cli/simulate.h"
#include "cli/stop_signals.h"
#include "cli/sweep.h"
#ifdef TL_HAVE_RENDER
#include "cli/render.h"
#endif
#include "engine/dynamics.h"
#include "engine/scenario.h"
#include "kernels/reduce.h"
#include "measure/csv.h"
#include "measure/spec.h"
#include "ot/solve.h"
#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"
#include "util/simd.h"

namespace tl::cli {

namespace {

using json = nlohmann::json;

const char* kVersion = "0.1.0";

std::string num(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

// JSON has no NaN/inf: such values become null.
json jnum(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

const std::vector<OptionSpec> kOtOptions = {
    {"source", true, "source measure SPEC (KIND:key=value,... or a .csv path)"},
    {"target", true, "target measure SPEC"},
    {"method", true, "exact | sinkhorn | gaussian (default exact)"},
    {"epsilon", true, "entropic regularisation, absolute, in squared-distance units (sinkhorn; default 0.01)"},
    {"tolerance", true, "stop when the L1 marginal error is below this (sinkhorn; default 1e-6)"},
    {"max-iterations", true, "iteration cap (sinkhorn; default 100000)"},
    {"threads", true, "worker threads, 0 = all cores (default 0)"},
    {"no-epsilon-scaling", false, "run Sinkhorn at the final epsilon from the start"},
    {"plan-threshold", true, "sinkhorn plan output keeps pi_ij >= threshold * a_i (default 1e-8)"},
    {"plan-out", true, "write the plan as CSV i,j,mass"},
    {"potentials-out", true, "write dual potentials as CSV side,index,potential"},
};

const std::vector<OptionSpec> kMeasureOptions = {
    {"spec", true, "measure SPEC"},
    {"out", true, "output CSV (x,y[,z],weight)"},
};

std::string joinPlan(const std::vector<PlanEntry>& plan) {
    std::string s = "i,j,mass\n";
    s.reserve(plan.size() * 32);
    for (const auto& e : plan) s += std::to_string(e.i) + "," + std::to_string(e.j) + "," + num(e.mass) + "\n";
    return s;
}

std::string joinPotentials(const std::vector<double>& f, const std::vector<double>& g) {
    std::string s = "side,index,potential\n";
    for (std::size_t i = 0; i < f.size(); ++i) s += "source," + std::to_string(i) + "," + num(f[i]) + "\n";
    for (std::size_t j = 0; j < g.size(); ++j) s += "target," + std::to_string(j) + "," + num(g[j]) + "\n";
    return s;
}

int cmdOt(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    Args a(argv, kOtOptions);
    refuseStray(a, 0, "ot");
    OtOptions opt;
    opt.method = parseOtMethod(a.text("method", "exact"));
    const double eps = a.real("epsilon", 0.01, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max());
    if (!(eps > 0)) throw Error("--epsilon must be > 0 (got " + oneLine(a.text("epsilon"), 80) + ")");
    const double tol = a.real("tolerance", 1e-6, -1, 1e6);
    if (!(tol > 0)) throw Error("--tolerance must be > 0 (got " + oneLine(a.text("tolerance"), 80) + ")");
    opt.sinkhorn.epsilon = eps;
    opt.sinkhorn.tolerance = tol;
    opt.sinkhorn.maxIterations = static_cast<int>(a.integer("max-iterations", 100000, 1, 100'000'000));
    opt.sinkhorn.threads = opt.exact.threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    opt.sinkhorn.epsilonScaling = !a.has("no-epsilon-scaling");
    opt.sinkhorn.planThreshold = a.real("plan-threshold", 1e-8, 0, 1);
    const std::string planOut = a.text("plan-out"), potOut = a.text("potentials-out");
    if (opt.method == OtMethod::Gaussian && (!planOut.empty() || !potOut.empty()))
        throw Error("the gaussian method computes a linear map, not a discrete plan or potentials: drop --plan-out/--potentials-out");
    opt.computePlan = !planOut.empty();
    // The outputs are checked before the solve (a folder, a missing folder, the same file twice)
    // and written all-or-nothing after it.
    std::vector<std::pair<std::string, std::string>> targets;
    for (const char* name : {"plan-out", "potentials-out"}) {
        if (a.has(name) && a.text(name).empty()) throw Error(std::string("option --") + name + " needs a file name");
        if (a.has(name)) targets.emplace_back(a.text(name), std::string("--") + name);
    }
    AtomicWriteSet::check(targets);

    const PointCloud source = measureFromSpec(a.required("source"));
    const PointCloud target = measureFromSpec(a.required("target"));
    if (source.dim != target.dim)
        throw Error("dimension mismatch: source is " + std::to_string(source.dim) + "-D, target is " + std::to_string(target.dim) + "-D");

    const OtResult r = solveOt(source, target, opt);
    if (r.status == OtStatus::NumericalError || r.status == OtStatus::Infeasible) throw Error(r.message);
    AtomicWriteSet outputs;  // all or nothing
    if (!planOut.empty()) outputs.add(planOut, joinPlan(r.plan), "--plan-out");
    if (!potOut.empty()) outputs.add(potOut, joinPotentials(r.f, r.g), "--potentials-out");
    outputs.commit();
    if (!r.ok()) err << "warning: " << r.message << "\n";

    json j;
    j["method"] = methodName(r.method);
    j["status"] = statusName(r.status);
    j["n"] = source.size();
    j["m"] = target.size();
    j["dim"] = source.dim;
    j["cost"] = jnum(r.cost);
    j["iterations"] = r.iterations;
    j["marginal_error"] = jnum(r.marginalError);
    j["seconds"] = r.seconds;
    if (opt.method == OtMethod::Sinkhorn) {
        j["epsilon"] = eps;
        j["entropic_dual"] = jnum(r.dualObjective);
    }
    j["simd"] = simd::activeTarget();  // the target the kernels ran on (exact: the simplex's pricing kernels)
    if (opt.method == OtMethod::Exact) j["dual_objective"] = jnum(r.dualObjective);
    if (opt.computePlan) j["plan_entries"] = r.plan.size();
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;  // user text may be invalid UTF-8
    return 0;
}

int cmdMeasure(const std::vector<std::string>& argv, std::ostream& out) {
    Args a(argv, kMeasureOptions);
    refuseStray(a, 0, "measure");
    const PointCloud pc = measureFromSpec(a.required("spec"));
    writeCsv(a.required("out"), pc);
    json j;
    j["n"] = pc.size();
    j["dim"] = pc.dim;
    const auto m = pc.mean();
    j["mean"] = std::vector<double>(m.data(), m.data() + m.size());
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;  // user text may be invalid UTF-8
    return 0;
}

std::string usage() {
    std::ostringstream os;
    os << "transportlab-cli " << kVersion << " - watch probability measures move (headless)\n\n"
       << "Usage:\n"
       << "  transportlab-cli ot --source SPEC --target SPEC --method exact|sinkhorn|gaussian [options]\n"
       << kOtOptions.size() << " options:\n"
       << usageOf(kOtOptions)
       << "  transportlab-cli simulate SCENARIO.json --out DIR [--threads N] [--force] [--format csv|vtp|both]\n"
       << "      run a scenario: DIR/panel<k>/frame_<ffff>.csv, DIR/metrics.csv, JSON summary on stdout\n"
       << "  transportlab-cli sweep SCENARIO.json --panel K --vary KEY=FROM:TO:COUNT --metric NAME --out FILE.csv [--png FILE]\n"
       << "      [--threads N] [--jobs J] | --emit-jobs DIR;  transportlab-cli sweep --merge OUT.csv PART.csv...\n"
       << "      run one panel once per parameter value (in parallel): value,t,NAME as CSV (see sweep --help)\n"
       << "  transportlab-cli render SCENARIO.json --out FILE.mp4|FILE.gif|DIR/ [--width W] [--height H] [--fps F]\n"
       << "      [--panel K] [--layers NAME,... (see render --help)] [--color position|speed|label|uniform]\n"
       << "      run a scenario and render its panels offscreen (same layers as the app; needs an X server, e.g. xvfb-run -a)\n"
       << "  transportlab-cli measure --spec SPEC --out FILE.csv   sample a measure to CSV\n"
       << "  transportlab-cli scenario-reference                   the scenario format and every dynamics parameter (Markdown)\n"
       << "  transportlab-cli kinds                                list measure kinds and keys (Markdown)\n"
       << "  transportlab-cli --version | --help | help SUBCOMMAND\n"
       << "Exit status: 0 success, 1 error (one line on stderr), 2 unknown command or stray argument,\n"
       << "             130 / 143 stopped by SIGINT / SIGTERM (nothing written).\n";
    return os.str();
}

// One subcommand's synopsis (`transportlab-cli SUB --help`); empty for an unknown one.
std::string synopsisOf(const std::string& cmd) {
    if (cmd == "ot")
        return "transportlab-cli ot --source SPEC --target SPEC [--method exact|sinkhorn|gaussian] [options]\n"
               "  solve the optimal transport problem between two measures; one JSON object on stdout\n";
    if (cmd == "measure") return "transportlab-cli measure --spec SPEC --out FILE.csv\n  sample a measure to CSV (x,y[,z],weight)\n";
    if (cmd == "simulate")
        return "transportlab-cli simulate SCENARIO.json --out DIR [--threads N] [--force] [--format csv|vtp|both]\n"
               "  run a scenario: DIR/panel<k>/frame_<ffff>.csv, DIR/metrics.csv, JSON summary on stdout\n";
    if (cmd == "render")
        return "transportlab-cli render SCENARIO.json --out FILE.mp4|FILE.gif|DIR/ [options]\n"
               "  run a scenario and render its panels offscreen (needs an X server, e.g. xvfb-run -a)\n";
    if (cmd == "kinds") return "transportlab-cli kinds\n  list measure kinds and keys (Markdown)\n";
    if (cmd == "scenario-reference") return "transportlab-cli scenario-reference\n  the scenario format and every dynamics parameter (Markdown)\n";
    return {};
}

// A subcommand without options (kinds, scenario-reference): --help, or nothing at all.
void noArguments(const std::string& cmd, const std::vector<std::string>& argv) {
    Args a(argv, {});
    refuseStray(a, 0, cmd);
}

bool isCommand(const std::string& cmd) { return cmd == "sweep" || !synopsisOf(cmd).empty(); }

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    // TL_SIMD (util/simd.h) is checked before anything else: a bad value writes nothing.
    try {
        simd::configure();
    } catch (const Error& e) {
        err << "error: " << oneLine(e.what()) << "\n";
        return 2;
    }
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        // `help SUB` is `SUB --help`; anything else after it is refused like any stray argument.
        if (args.size() == 2 && isCommand(args[1])) return runCli({args[1], "--help"}, out, err);
        if (args.size() >= 2) {
            if (isCommand(args[1]))
                err << "error: " << args[0] << " " << args[1] << ": unexpected argument " << tl::quoted(args[2]) << " (" << args[0]
                    << " takes one subcommand name)\n";
            else
                err << "error: unknown command " << tl::quoted(args[1]) << " after " << args[0] << " (try transportlab-cli --help)\n";
            return 2;
        }
        (args.empty() ? err : out) << usage();
        return args.empty() ? 2 : 0;
    }
    const std::string cmd = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (cmd == "--version") {
            if (!rest.empty()) throw UsageError("unexpected argument " + tl::quoted(rest.front()) + " after --version");
            out << "transportlab-cli " << kVersion << " (simd: " << simd::activeTarget() << ")\n";
            return 0;
        }
        if (cmd == "ot") return cmdOt(rest, out, err);
        if (cmd == "measure") return cmdMeasure(rest, out);
        if (cmd == "simulate") return cmdSimulate(rest, out, err);
        if (cmd == "sweep") return cmdSweep(rest, out, err);
        if (cmd == "render") {
#ifdef TL_HAVE_RENDER
            return cmdRender(rest, out, err);
#else
            for (const auto& x : rest)
                if (x == "--help" || x == "-h") throw HelpRequested{};
            throw Error("this build has no renderer (configured with TL_BUILD_GUI=OFF)");
#endif
        }
        if (cmd == "scenario-reference") {
            noArguments(cmd, rest);
            out << scenarioReferenceMarkdown();
            return 0;
        }
        if (cmd == "kinds") {
            noArguments(cmd, rest);
            out << specReferenceMarkdown();
            return 0;
        }
        err << "error: unknown command " << tl::quoted(cmd) << " (try --help)\n";
        return 2;
    } catch (const HelpRequested& h) {
        out << "Usage:\n  " << synopsisOf(cmd);
#ifndef TL_HAVE_RENDER
        if (cmd == "render") out << "  (not available in this build: configured with TL_BUILD_GUI=OFF)\n";
#endif
        if (!h.options.empty()) out << "Options:\n" << h.options;
        return 0;
    } catch (const UsageError& e) {
        err << "error: " << oneLine(e.what()) << "\n";
        return 2;
    } catch (const Interrupted& e) {
        err << "error: " << oneLine(e.what()) << "\n";
        return e.exitCode();
    } catch (const Error& e) {
        err << "error: " << oneLine(e.what()) << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        err << "error: out of memory (try fewer points or the sinkhorn method)\n";
        return 1;
    } catch (const std::exception& e) {
        err << "error: " << oneLine(e.what()) << "\n";
        return 1;
    }
}

}  // namespace tl::cli
