// An image as a 2-D density: pixel intensity g in [0, 1] -> density proportional to g
// (or 1 - g), sampled pixel by inverse CDF with uniform jitter inside the pixel.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "measure/point_cloud.h"

namespace tl {

struct GrayImage {
    int width = 0, height = 0;
    std::vector<double> pixels;  // row-major, top row first, values in [0, 1]
};

// Input caps: an image file larger than kMaxImageBytes, or one whose header declares more than
// kMaxImagePixels pixels (or more pixels than its bytes can hold), is refused before any pixel
// memory is allocated.
inline constexpr std::size_t kMaxImageBytes = std::size_t(256) << 20;  // 256 MiB
inline constexpr long long kMaxImagePixels = 100'000'000;              // 100 megapixels

// Reads binary (P5) or ASCII (P2) PGM. Throws tl::Error on malformed files.
GrayImage readPgm(const std::string& path);
// The same from the file's bytes; `name` (e.g. the path) starts every error message.
GrayImage parsePgm(std::string_view data, const std::string& name);

// Reads any image format: PGM natively, other formats through a reader registered for the
// file's extension (the app registers a Qt-based PNG/JPEG reader; core has no Qt).
GrayImage readGrayImage(const std::string& path);
using ImageReader = std::function<GrayImage(const std::string& path)>;
void registerImageReader(const std::string& extension, ImageReader reader);

// Samples n points; the image spans `width` units horizontally, centred at 0, y pointing up.
PointCloud sampleImageDensity(const GrayImage& image, std::size_t n, std::uint64_t seed, double width, bool invert);

// The grey value in [0, 1] of the pixel under (x, y) for an image laid out as sampleImageDensity
// lays it out (width units wide, centred at 0, y up); NaN outside the picture.
double imageValueAt(const GrayImage& image, double width, double x, double y);

}  // namespace tl
