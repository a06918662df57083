// transportlab-cli: subcommands over the core (ot, measure, kinds; later simulate and render).
// runCli is the whole program minus main(), so tests can drive it in-process too.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace tl::cli {

// Returns the process exit code. Results go to `out` (one JSON object), errors to `err` (one line).
int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tl::cli
