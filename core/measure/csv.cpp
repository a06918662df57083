#include "measure/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"

namespace tl {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '"')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '"')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> splitFields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t p = line.find(',', start);
        out.push_back(trim(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start)));
        if (p == std::string_view::npos) break;
        start = p + 1;
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string r(s);
    std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return r;
}

// " (out of the range of a double)" for a token that overflows or underflows (1e400, 1e-400),
// else empty: the reason a number-looking token was refused.
std::string rangeNote(std::string_view token) {
    token = trim(token);
    if (!token.empty() && token.front() == '+') token.remove_prefix(1);
    double v;
    const auto r = std::from_chars(token.data(), token.data() + token.size(), v);
    if (r.ec == std::errc::result_out_of_range && r.ptr == token.data() + token.size()) return " (out of the range of a double)";
    return {};
}

}  // namespace

bool parseNumber(std::string_view token, double& out) {
    token = trim(token);
    if (token.empty()) return false;
    if (token.front() == '+') token.remove_prefix(1);
    const char* end = token.data() + token.size();
    auto [ptr, ec] = std::from_chars(token.data(), end, out);
    return ec == std::errc() && ptr == end && std::isfinite(out);
}

PointCloud parseCsv(std::string_view text, const std::string& nameIn) {
    // The name (a path) prefixes every message: control characters escaped, kept one line.
    const std::string name = oneLine(nameIn, kQuotedPathLength);
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark (Excel writes one)
    PointCloud pc;
    std::vector<int> coordCol;  // column index of x, y, z
    int weightCol = -1;
    std::size_t columns = 0;
    bool haveLayout = false;
    std::size_t lineNo = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim(line).empty() || trim(line).front() == '#') {
            if (nl == text.size()) break;
            continue;
        }
        auto fields = splitFields(line);
        const std::string where = name + ":" + std::to_string(lineNo) + ": ";
        if (!haveLayout) {
            haveLayout = true;
            columns = fields.size();
            double probe;
            // A header has a name in some column; "nan"/"inf" are (bad) numbers, not names.
            auto isName = [&](std::string_view f) {
                if (parseNumber(f, probe)) return false;
                std::string t = lower(f);
                if (!t.empty() && (t[0] == '-' || t[0] == '+')) t.erase(0, 1);
                return !(t == "nan" || t == "inf" || t == "infinity" || t.empty() || std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.');
            };
            const bool isHeader = std::any_of(fields.begin(), fields.end(), isName);
            if (isHeader) {
                int cx = -1, cy = -1, cz = -1;
                for (std::size_t c = 0; c < fields.size(); ++c) {
                    const std::string f = lower(fields[c]);
                    int* slot = f == "x" ? &cx : f == "y" ? &cy : f == "z" ? &cz : (f == "weight" || f == "w") ? &weightCol : nullptr;
                    if (!slot) throw Error(where + "unknown column " + tl::quoted(fields[c]) + " (expected x, y, z, weight or w)");
                    if (*slot >= 0) throw Error(where + "duplicate column " + tl::quoted(fields[c]));
                    *slot = static_cast<int>(c);
                }
                if (cx < 0) throw Error(where + "header has no 'x' column");
                if (cz >= 0 && cy < 0) throw Error(where + "header has 'z' but no 'y' column");
                coordCol.push_back(cx);
                if (cy >= 0) coordCol.push_back(cy);
                if (cz >= 0) coordCol.push_back(cz);
                pc.dim = static_cast<int>(coordCol.size());
                if (nl == text.size()) break;
                continue;
            }
            if (columns > 3) throw Error(where + "a CSV without header must have 1 to 3 coordinate columns (found " + std::to_string(columns) + ")");
            for (std::size_t c = 0; c < columns; ++c) coordCol.push_back(static_cast<int>(c));
            pc.dim = static_cast<int>(columns);
        }
        if (fields.size() != columns)
            throw Error(where + "expected " + std::to_string(columns) + " fields, found " + std::to_string(fields.size()));
        for (int c : coordCol) {
            double v;
            if (!parseNumber(fields[c], v)) throw Error(where + "not a finite number: " + tl::quoted(fields[c]) + rangeNote(fields[c]));
            pc.points.push_back(v);
        }
        double w = 1.0;
        if (weightCol >= 0) {
            if (!parseNumber(fields[weightCol], w)) throw Error(where + "not a finite weight: " + tl::quoted(fields[weightCol]) + rangeNote(fields[weightCol]));
            if (w < 0) throw Error(where + "negative weight " + tl::quoted(fields[weightCol]));
        }
        pc.weights.push_back(w);
        if (nl == text.size()) break;
    }
    if (pc.weights.empty()) throw Error(name + ": no points");
    pc.validate(name.c_str());
    // Normalised to sum 1 (w / sum, as PointCloud::normalizeWeights does); should the sum overflow
    // (weights of 1e308), by the largest weight first. A positive weight that comes out as 0 would
    // silently drop its point: refused.
    const double largest = *std::max_element(pc.weights.begin(), pc.weights.end());
    double sum = 0;
    for (double w : pc.weights) sum += w;
    const bool scaled = !std::isfinite(sum);
    if (scaled) {
        sum = 0;
        for (double w : pc.weights) sum += w / largest;
    }
    for (std::size_t i = 0; i < pc.weights.size(); ++i) {
        const double w = pc.weights[i];
        pc.weights[i] = scaled ? w / largest / sum : w / sum;
        if (w > 0 && !(pc.weights[i] > 0)) {
            char a[32], b[32];
            const auto ra = std::to_chars(a, a + sizeof a, w), rb = std::to_chars(b, b + sizeof b, largest);
            throw Error(name + ": the weight " + std::string(a, ra.ptr) + " of point " + std::to_string(i + 1) + " is 0 once normalised (the largest weight is " +
                        std::string(b, rb.ptr) + "); give weights within a ratio of about 1e300");
        }
    }
    return pc;
}

PointCloud readCsv(const std::string& path) { return parseCsv(readFile(path, kMaxCsvBytes), path); }

std::string formatCsv(const PointCloud& cloud, bool withWeights) {
    static const char* names[3] = {"x", "y", "z"};
    std::string out;
    out.reserve(cloud.size() * (cloud.dim + 1) * 24 + 32);
    for (int k = 0; k < cloud.dim; ++k) {
        if (k) out += ',';
        out += names[k];
    }
    if (withWeights) out += ",weight";
    out += '\n';
    char buf[32];
    for (std::size_t i = 0; i < cloud.size(); ++i) {
        for (int k = 0; k < cloud.dim; ++k) {
            if (k) out += ',';
            auto r = std::to_chars(buf, buf + sizeof buf, cloud.point(i)[k]);
            out.append(buf, r.ptr);
        }
        if (withWeights) {
            out += ',';
            auto r = std::to_chars(buf, buf + sizeof buf, cloud.weights[i]);
            out.append(buf, r.ptr);
        }
        out += '\n';
    }
    return out;
}

void writeCsv(const std::string& path, const PointCloud& cloud, bool withWeights) {
    // What parseCsv would refuse is not written: a non-finite coordinate or weight, a negative
    // weight, weights that sum to 0 (e.g. after an underflow) or to infinity.
    cloud.validate(("cannot write " + quotedPath(path)).c_str());
    double sum = 0;
    for (double w : cloud.weights) sum += w;
    if (withWeights && !std::isfinite(sum)) throw Error("cannot write " + quotedPath(path) + ": the weights sum to infinity");
    writeFileAtomic(path, formatCsv(cloud, withWeights));
}

}  // namespace tl
