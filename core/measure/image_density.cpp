#include "measure/image_density.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>

#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"
#include "util/rng.h"

namespace tl {

namespace {

std::mutex& readersMutex() {
    static std::mutex m;
    return m;
}
std::map<std::string, ImageReader>& readers() {
    static std::map<std::string, ImageReader> r;
    return r;
}

std::string extensionOf(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

}  // namespace

GrayImage readPgm(const std::string& path) { return parsePgm(readFile(path, kMaxImageBytes), path); }

GrayImage parsePgm(std::string_view data, const std::string& path) {
    std::size_t pos = 0;
    auto bad = [&](const std::string& why) { return Error(quotedPath(path) + " is not a valid PGM image: " + why); };
    auto skipSpace = [&] {
        for (;;) {
            while (pos < data.size() && std::isspace(static_cast<unsigned char>(data[pos]))) ++pos;
            if (pos < data.size() && data[pos] == '#') {
                while (pos < data.size() && data[pos] != '\n') ++pos;
                continue;
            }
            return;
        }
    };
    auto readInt = [&](const char* what) {
        skipSpace();
        long long v = 0;
        std::size_t start = pos;
        while (pos < data.size() && std::isdigit(static_cast<unsigned char>(data[pos])) && pos - start < 9) v = v * 10 + (data[pos++] - '0');
        if (pos == start) throw bad(std::string("missing ") + what);
        if (pos < data.size() && std::isdigit(static_cast<unsigned char>(data[pos]))) throw bad(std::string(what) + " too large");
        return v;
    };
    if (data.size() < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '2')) throw bad("missing P2/P5 magic");
    const bool binary = data[1] == '5';
    pos = 2;
    const long long w = readInt("width"), h = readInt("height"), maxv = readInt("maxval");
    if (w <= 0 || h <= 0 || w > 20000 || h > 20000) throw bad("bad size " + std::to_string(w) + "x" + std::to_string(h));
    if (maxv <= 0 || maxv > 65535) throw bad("bad maxval");
    // The declared size against the cap and against the bytes the file holds, before allocating.
    const long long count = w * h;
    if (count > kMaxImagePixels)
        throw bad(std::to_string(w) + "x" + std::to_string(h) + " pixels is more than the limit of " + std::to_string(kMaxImagePixels / 1'000'000) +
                  " megapixels");
    const std::size_t bpp = maxv > 255 ? 2 : 1;
    if (binary) {
        ++pos;  // single whitespace after maxval
        const std::size_t have = data.size() > pos ? data.size() - pos : 0;
        if (have < static_cast<std::size_t>(count) * bpp)
            throw bad("truncated pixel data (" + std::to_string(w) + "x" + std::to_string(h) + " needs " +
                      std::to_string(static_cast<std::size_t>(count) * bpp) + " bytes, the file has " + std::to_string(have) + ")");
    } else {
        // Every ASCII pixel takes at least 2 bytes (a digit and a separator; the last needs none).
        const std::size_t have = data.size() > pos ? data.size() - pos : 0;
        if ((have + 1) / 2 < static_cast<std::size_t>(count))
            throw bad("truncated pixel data (" + std::to_string(w) + "x" + std::to_string(h) + " values cannot fit in the " + std::to_string(have) +
                      " bytes left)");
    }
    GrayImage img;
    img.width = static_cast<int>(w);
    img.height = static_cast<int>(h);
    img.pixels.resize(static_cast<std::size_t>(count));
    if (binary) {
        for (std::size_t k = 0; k < img.pixels.size(); ++k) {
            const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos + k * bpp);
            const double v = bpp == 2 ? (p[0] << 8 | p[1]) : p[0];
            img.pixels[k] = std::min(1.0, v / static_cast<double>(maxv));
        }
    } else {
        for (auto& px : img.pixels) px = std::min(1.0, static_cast<double>(readInt("pixel value")) / static_cast<double>(maxv));
    }
    return img;
}

void registerImageReader(const std::string& extension, ImageReader reader) {
    std::lock_guard<std::mutex> lk(readersMutex());
    readers()[extension] = std::move(reader);
}

GrayImage readGrayImage(const std::string& path) {
    const std::string ext = extensionOf(path);
    if (ext == ".pgm") return readPgm(path);
    ImageReader reader;
    {
        std::lock_guard<std::mutex> lk(readersMutex());
        auto it = readers().find(ext);
        if (it != readers().end()) reader = it->second;
    }
    if (!reader) throw Error("cannot read image " + quotedPath(path) + ": unsupported format " + tl::quoted(ext) + " (use .pgm or .png)");
    return reader(path);
}

PointCloud sampleImageDensity(const GrayImage& image, std::size_t n, std::uint64_t seed, double width, bool invert) {
    if (image.width <= 0 || image.height <= 0) throw Error("image: empty image");
    std::vector<double> cdf(image.pixels.size());
    double acc = 0;
    for (std::size_t k = 0; k < image.pixels.size(); ++k) {
        const double g = std::clamp(image.pixels[k], 0.0, 1.0);
        acc += invert ? 1.0 - g : g;
        cdf[k] = acc;
    }
    if (!(acc > 0)) throw Error("image: the image has zero density everywhere (all " + std::string(invert ? "white" : "black") + "); try invert");
    Rng rng(seed);
    const double px = width / image.width;
    const double height = px * image.height;
    std::vector<double> pts;
    pts.reserve(2 * n);
    for (std::size_t s = 0; s < n; ++s) {
        const double u = rng.uniform() * acc;
        const std::size_t k = std::min<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), cdf.size() - 1);
        const double col = static_cast<double>(k % image.width) + rng.uniform();
        const double row = static_cast<double>(k / image.width) + rng.uniform();
        pts.push_back(col * px - width / 2);
        pts.push_back(height / 2 - row * px);
    }
    return PointCloud::withUniformWeights(2, std::move(pts));
}

}  // namespace tl

namespace tl {

double imageValueAt(const GrayImage& image, double width, double x, double y) {
    if (image.width <= 0 || image.height <= 0) return std::numeric_limits<double>::quiet_NaN();
    const double px = width / image.width;
    const double height = px * image.height;
    const double col = (x + width / 2) / px, row = (height / 2 - y) / px;
    if (!(col >= 0 && col < image.width && row >= 0 && row < image.height)) return std::numeric_limits<double>::quiet_NaN();
    const auto c = static_cast<std::size_t>(col), r = static_cast<std::size_t>(row);
    return std::clamp(image.pixels[r * static_cast<std::size_t>(image.width) + c], 0.0, 1.0);
}

}  // namespace tl
