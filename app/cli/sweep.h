// transportlab-cli sweep: runs one panel of a scenario once per value of one of its number or integer
// parameters (in parallel, one tl::Runner per value) and writes value,t,<metric> as CSV (and a heat map
// as PNG); or writes the runs as Slurm / GNU parallel jobs (--emit-jobs DIR); or merges the per-job CSVs
// (--merge OUT.csv PART.csv...). Every output is written all-or-nothing; an error or a Ctrl-C leaves none.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace tl::cli {
int cmdSweep(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);
// The sweep usage (`transportlab-cli sweep --help`).
std::string sweepUsage();
}  // namespace tl::cli
