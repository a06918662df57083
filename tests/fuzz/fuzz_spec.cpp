// libFuzzer target: the measure SPEC parser (KIND:key=value,... ; measure/spec.h). Any input is
// refused with a tl::Error of one printable line, or parses (tl::specKind) to a known kind with every
// declared key; generator SPECs with few points (n <= 2000) are also sampled: a valid cloud (finite
// points, weights summing to 1), whose density (when the kind has one) is never negative at the
// samples; tl::quoted / tl::oneLine of the input are one printable line. Paths (CSV files,
// image:path=) are not followed: fuzz_csv and fuzz_pgm read contents.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include "fuzz_common.h"
#include "measure/csv.h"
#include "measure/spec.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return 0;  // a SPEC is a command-line argument
    const std::string spec(reinterpret_cast<const char*>(data), size);
    using tl::fuzz::require;
    // The quoting every message relies on (util/quote.h): one printable line, capped as documented.
    const std::string q = tl::quoted(spec, 0), capped = tl::quoted(spec);
    require(tl::fuzz::isOneLine(q) && q.size() >= 2 && q.front() == '\'' && q.back() == '\'', "quoted: not one quoted line", q);
    require(tl::fuzz::isOneLine(capped) && capped.size() <= 80 + 2 + 3, "quoted: cap exceeded", capped);
    require(tl::fuzz::isOneLine(tl::oneLine(spec, 0)) || spec.empty(), "oneLine: not one printable line");
    std::map<std::string, std::string> values;
    std::string kind;
    try {
        kind = tl::specKind(spec, &values);
    } catch (const tl::Error& e) {
        tl::fuzz::checkMessage("spec", e);
        return 0;
    }
    if (kind.empty() || kind == "image") return 0;  // a file path
    const tl::GeneratorKind* g = nullptr;
    for (const auto& k : tl::generators())
        if (k.name == kind) g = &k;
    require(g != nullptr, "spec: specKind returned an unknown kind", kind);
    for (const auto& key : g->keys) require(values.count(key.name) == 1, "spec: a declared key is missing from the values", key.name);
    require(values.size() == g->keys.size(), "spec: undeclared key in the values");
    // Sample only small clouds: the cost grows with n by design (n <= 5e7 is allowed).
    double n = 0;
    if (tl::parseNumber(values["n"], n) && n > 2000) return 0;
    tl::Measure m;
    try {
        m = tl::sampleMeasure(spec, "/nonexistent/fuzz");
    } catch (const tl::Error& e) {
        tl::fuzz::checkMessage("spec sample", e);
        return 0;
    }
    const tl::PointCloud& pc = m.cloud;
    require(pc.dim >= 1 && pc.dim <= 3 && pc.size() > 0 && pc.points.size() == pc.size() * static_cast<std::size_t>(pc.dim), "spec: bad cloud shape", spec);
    double sum = 0;
    for (double x : pc.points) require(std::isfinite(x), "spec: non-finite sample", spec);
    for (double w : pc.weights) {
        require(std::isfinite(w) && w >= 0, "spec: bad weight", spec);
        sum += w;
    }
    require(std::abs(sum - 1) < 1e-9, "spec: weights do not sum to 1", spec);
    if (m.density)
        for (std::size_t i = 0; i < std::min<std::size_t>(pc.size(), 8); ++i) {
            // NaN: a degenerate law has no density (mixtureDensity's contract; users fall back to the
            // samples); +inf: a nearly degenerate one. Never negative.
            const double d = m.density(pc.point(i));
            require(!(d < 0), "spec: negative density at a sample", spec);
        }
    return 0;
}
