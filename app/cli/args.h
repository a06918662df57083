// Minimal, strict command-line option parsing for transportlab-cli: --key value or --key=value;
// every option a subcommand accepts is declared up front, anything else is an error naming it.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace tl::cli {

struct OptionSpec {
    std::string name;  // without the leading --
    bool takesValue = true;
    std::string help;
};

// Thrown by Args for --help or -h (unless the subcommand declares its own "help" option):
// runCli prints the subcommand's usage (with `options`, usageOf its specs) on stdout and returns 0.
// Not a std::exception, so no error handler mistakes it for an error.
struct HelpRequested {
    std::string options;
};

// A command line with an argument no subcommand expects (a stray positional argument): runCli prints
// the one-line message and exits 2 (other errors exit 1).
class UsageError : public Error {
public:
    using Error::Error;
};

class Args {
public:
    // Throws tl::Error for unknown options or missing values, HelpRequested for --help / -h.
    Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs);
    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::string text(const std::string& name, const std::string& fallback = "") const;
    std::string required(const std::string& name) const;
    double real(const std::string& name, double fallback, double lo, double hi) const;
    long long integer(const std::string& name, long long fallback, long long lo, long long hi) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

std::string usageOf(const std::vector<OptionSpec>& specs);

// Refuses positional arguments after the first `allowed`: UsageError naming the first extra one, e.g.
// "simulate: unexpected argument 'x' (simulate takes one SCENARIO.json)". `expects` says what the
// allowed ones are ("one SCENARIO.json"); empty when none is allowed.
void refuseStray(const Args& a, std::size_t allowed, const std::string& cmd, const std::string& expects = "");

// The one positional argument `cmd` needs (e.g. the SCENARIO.json): tl::Error when there is none,
// UsageError naming the second when there are more.
std::string onePositional(const Args& a, const std::string& cmd, const std::string& what);

}  // namespace tl::cli
