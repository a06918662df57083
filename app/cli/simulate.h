// transportlab-cli simulate: runs a scenario headless and writes DIR/panel<k>/frame_<ffff>.csv,
// DIR/metrics.csv and a JSON summary. Output is assembled in a temporary folder and renamed into
// place only when complete, so an error or a cancel leaves nothing that looks complete.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace tl::cli {
int cmdSimulate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);
}
