// The CSV point-cloud format (a contract): one point per row; an optional header naming
// columns x, y, z (coordinates) and weight or w (weights). Weights are normalised to sum 1.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "measure/point_cloud.h"

namespace tl {

// The largest CSV file readCsv reads (bytes); a larger one is refused before it is read.
inline constexpr std::size_t kMaxCsvBytes = std::size_t(1) << 30;  // 1 GiB

// Parses CSV text (a UTF-8 byte-order mark before the first line is skipped). `name` (e.g. the file path) prefixes error messages, which name the line.
PointCloud parseCsv(std::string_view text, const std::string& name = "csv");
PointCloud readCsv(const std::string& path);
// Header x,y[,z],weight; full double precision; written atomically. writeCsv refuses (tl::Error) a
// cloud with a non-finite coordinate, a negative or non-finite weight, or weights summing to 0.
std::string formatCsv(const PointCloud& cloud, bool withWeights = true);
void writeCsv(const std::string& path, const PointCloud& cloud, bool withWeights = true);

// Parses one finite double from a whole token (surrounding blanks allowed); false if invalid.
bool parseNumber(std::string_view token, double& out);

}  // namespace tl
