// libFuzzer target: the CSV point-cloud reader (tl::parseCsv, measure/csv.h). Any input either is
// refused with a tl::Error of one printable line, or gives a valid cloud (dim 1..3, finite points,
// weights >= 0 summing to 1) that survives formatCsv -> parseCsv unchanged.
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "measure/csv.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    tl::PointCloud pc;
    try {
        pc = tl::parseCsv(text, "fuzz.csv");
    } catch (const tl::Error& e) {
        tl::fuzz::checkMessage("csv", e);
        return 0;
    }
    using tl::fuzz::require;
    require(pc.dim >= 1 && pc.dim <= 3, "csv: dim out of 1..3");
    require(pc.size() > 0 && pc.points.size() == pc.size() * static_cast<std::size_t>(pc.dim), "csv: points and weights disagree");
    double sum = 0;
    for (double x : pc.points) require(std::isfinite(x), "csv: non-finite coordinate accepted");
    for (double w : pc.weights) {
        require(std::isfinite(w) && w >= 0, "csv: bad weight accepted");
        sum += w;
    }
    require(std::abs(sum - 1) < 1e-9, "csv: weights do not sum to 1");
    // Round trip: the writer's text reads back to the same points (shortest round-trip digits) and
    // the same weights up to renormalisation rounding.
    tl::PointCloud again;
    const std::string written = tl::formatCsv(pc);
    try {
        again = tl::parseCsv(written, "again.csv");
    } catch (const tl::Error& e) {
        tl::fuzz::fail("csv: formatCsv output refused by parseCsv", e.what());
    }
    require(again.dim == pc.dim && again.points == pc.points, "csv: round trip changed the points", written);
    for (std::size_t i = 0; i < pc.size(); ++i)
        require(std::abs(again.weights[i] - pc.weights[i]) <= 1e-12 * std::max(1.0, pc.weights[i]) + 1e-300, "csv: round trip changed a weight", written);
    return 0;
}
