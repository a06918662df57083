#include "gradient_flows/potential.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"
#include "util/files.h"

namespace tl::gf {

Potential Potential::parse(const std::string& choice, double strength, double imageWidth, const std::string& baseDir,
                           const std::string& who) {
    Potential p;
    p.strength_ = strength;
    p.width_ = imageWidth;
    if (choice == "none") p.kind_ = Kind::None;
    else if (choice == "quadratic") p.kind_ = Kind::Quadratic;
    else if (choice == "double-well") p.kind_ = Kind::DoubleWell;
    else if (choice.starts_with("image:")) {
        p.kind_ = Kind::Image;
        try {
            p.image_ = std::make_shared<const GrayImage>(readGrayImage(resolvePath(choice.substr(6), baseDir)));
        } catch (const Error& e) {
            throw Error(who + ": key 'potential': " + e.what());
        }
        if (p.image_->width < 2 || p.image_->height < 2) throw Error(who + ": key 'potential': the image must be at least 2 x 2 pixels");
    } else {
        throw Error(who + ": key 'potential' must be none, quadratic, double-well or image:PATH (got '" + choice + "')");
    }
    return p;
}

double Potential::imageAt(double x, double y) const {
    const GrayImage& im = *image_;
    const double px = width_ / im.width, height = px * im.height;
    // pixel centres at col + 0.5, row + 0.5
    const double col = std::clamp((x + width_ / 2) / px - 0.5, 0.0, im.width - 1.0);
    const double row = std::clamp((height / 2 - y) / px - 0.5, 0.0, im.height - 1.0);
    const int c0 = std::min(static_cast<int>(col), im.width - 2), r0 = std::min(static_cast<int>(row), im.height - 2);
    const double fc = col - c0, fr = row - r0;
    auto at = [&](int r, int c) { return std::clamp(im.pixels[static_cast<std::size_t>(r) * im.width + c], 0.0, 1.0); };
    return (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)) + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1));
}

double Potential::value(const double* x, int dim) const {
    switch (kind_) {
        case Kind::None: return 0;
        case Kind::Quadratic: {
            double r2 = 0;
            for (int k = 0; k < dim; ++k) r2 += x[k] * x[k];
            return strength_ * 0.5 * r2;
        }
        case Kind::DoubleWell: {
            const double a = x[0] * x[0] - 1;
            double rest = 0;
            for (int k = 1; k < dim; ++k) rest += x[k] * x[k];
            return strength_ * (a * a + 0.5 * rest);
        }
        case Kind::Image: return strength_ * imageAt(x[0], dim > 1 ? x[1] : 0.0);
    }
    return 0;
}

void Potential::gradient(const double* x, int dim, double* g) const {
    for (int k = 0; k < dim; ++k) g[k] = 0;
    switch (kind_) {
        case Kind::None: return;
        case Kind::Quadratic:
            for (int k = 0; k < dim; ++k) g[k] = strength_ * x[k];
            return;
        case Kind::DoubleWell:
            g[0] = strength_ * 4 * x[0] * (x[0] * x[0] - 1);
            for (int k = 1; k < dim; ++k) g[k] = strength_ * x[k];
            return;
        case Kind::Image: {
            const double d = 0.5 * width_ / image_->width;  // half a pixel
            const double y = dim > 1 ? x[1] : 0.0;
            g[0] = strength_ * (imageAt(x[0] + d, y) - imageAt(x[0] - d, y)) / (2 * d);
            if (dim > 1) g[1] = strength_ * (imageAt(x[0], y + d) - imageAt(x[0], y - d)) / (2 * d);
            return;
        }
    }
}

}  // namespace tl::gf
