#include "cli/args.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "measure/csv.h"
#include "util/error.h"
#include "util/quote.h"

namespace tl::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs) {
    const bool declaresHelp = std::any_of(specs.begin(), specs.end(), [](const OptionSpec& s) { return s.name == "help"; });
    for (std::size_t k = 0; k < argv.size(); ++k) {
        const std::string& a = argv[k];
        if ((a == "--help" || a == "-h") && !declaresHelp) throw HelpRequested{usageOf(specs)};
        if (a.size() > 2 && a.rfind("--", 0) == 0) {
            std::string name = a.substr(2), value;
            const auto eq = name.find('=');
            bool inlineValue = false;
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                inlineValue = true;
            }
            const OptionSpec* spec = nullptr;
            for (const auto& s : specs)
                if (s.name == name) spec = &s;
            if (!spec) throw Error("unknown option " + oneLine("--" + name, 80));
            if (spec->takesValue && !inlineValue) {
                if (k + 1 >= argv.size()) throw Error("option --" + name + " needs a value");
                value = argv[++k];
            } else if (!spec->takesValue && inlineValue) {
                throw Error("option --" + name + " takes no value");
            }
            if (values_.count(name)) throw Error("option --" + name + " given twice");
            values_[name] = spec->takesValue ? value : "1";
        } else {
            positional_.push_back(a);
        }
    }
}

std::string Args::text(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::string Args::required(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) throw Error("missing required option --" + name);
    return it->second;
}

double Args::real(const std::string& name, double fallback, double lo, double hi) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    double v;
    if (!parseNumber(it->second, v)) throw Error("--" + name + " must be a finite number (got " + tl::quoted(it->second) + ")");
    if (v < lo || v > hi) {
        std::ostringstream os;
        os << "--" << name << " must be in [" << lo << ", " << hi << "] (got " << oneLine(it->second, 80) << ")";
        throw Error(os.str());
    }
    return v;
}

long long Args::integer(const std::string& name, long long fallback, long long lo, long long hi) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    double v;
    if (!parseNumber(it->second, v) || v != std::floor(v)) throw Error("--" + name + " must be an integer (got " + tl::quoted(it->second) + ")");
    if (v < static_cast<double>(lo) || v > static_cast<double>(hi))
        throw Error("--" + name + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (got " + oneLine(it->second, 80) + ")");
    return static_cast<long long>(v);
}

std::string usageOf(const std::vector<OptionSpec>& specs) {
    std::ostringstream os;
    for (const auto& s : specs) os << "  --" << s.name << (s.takesValue ? " VALUE" : "") << "\n      " << s.help << "\n";
    return os.str();
}

void refuseStray(const Args& a, std::size_t allowed, const std::string& cmd, const std::string& expects) {
    if (a.positional().size() <= allowed) return;
    const std::string why = expects.empty() ? " takes no positional arguments" : " takes " + expects;
    throw UsageError(cmd + ": unexpected argument " + tl::quoted(a.positional()[allowed]) + " (" + cmd + why + ")");
}

std::string onePositional(const Args& a, const std::string& cmd, const std::string& what) {
    if (a.positional().empty()) throw Error(cmd + " needs a " + what + " (see transportlab-cli " + cmd + " --help)");
    refuseStray(a, 1, cmd, "one " + what);
    return a.positional().front();
}

}  // namespace tl::cli
