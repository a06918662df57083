#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace tl::cli {
// transportlab-cli render SCENARIO.json --out FILE.mp4|FILE.gif|DIR/ [--width W] [--height H] [--fps F] ...
int cmdRender(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);
}  // namespace tl::cli
