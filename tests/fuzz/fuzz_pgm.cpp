// libFuzzer target: the PGM reader core has without Qt (tl::parsePgm, P2 ASCII and P5 binary; what
// readPgm reads from a file). Any input is refused with a tl::Error of one printable line, or gives an
// image whose size matches its pixels (at most the declared caps), values in [0, 1]; sampling a few
// points from it (when it is not all black) stays inside the picture.
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "measure/image_density.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    tl::GrayImage img;
    try {
        img = tl::parsePgm(bytes, "fuzz.pgm");
    } catch (const tl::Error& e) {
        tl::fuzz::checkMessage("pgm", e);
        return 0;
    }
    using tl::fuzz::require;
    require(img.width > 0 && img.height > 0 && img.width <= 20000 && img.height <= 20000, "pgm: size out of range");
    require(img.pixels.size() == static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height), "pgm: pixel count != width * height");
    require(static_cast<long long>(img.pixels.size()) <= tl::kMaxImagePixels, "pgm: more pixels than the cap");
    double total = 0;
    for (double v : img.pixels) {
        require(v >= 0 && v <= 1, "pgm: pixel outside [0, 1]");
        total += v;
    }
    const double width = 4, height = width * img.height / img.width;
    for (bool invert : {false, true}) {
        if (!(invert ? img.pixels.size() - total > 0 : total > 0)) continue;
        tl::PointCloud pc;
        try {
            pc = tl::sampleImageDensity(img, 16, 1, width, invert);
        } catch (const tl::Error& e) {
            tl::fuzz::fail("pgm: sampling refused an image with positive density", e.what());
        }
        require(pc.dim == 2 && pc.size() == 16, "pgm: sample size");
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double x = pc.point(i)[0], y = pc.point(i)[1];
            require(std::abs(x) <= width / 2 * (1 + 1e-12) && std::abs(y) <= height / 2 * (1 + 1e-12), "pgm: sample outside the picture");
        }
    }
    return 0;
}
