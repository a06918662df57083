// External potentials V for the gradient flows (science.md §4: F = ... + int V drho, Fokker-Planck,
// Langevin dX = -grad V(X) dt + sqrt(2D) dB): none, quadratic |x|^2/2, a double well
// (x1^2 - 1)^2 + |x_rest|^2/2, or a grey image (brighter = higher), each times a strength.
#pragma once
#include <memory>
#include <string>

#include "measure/image_density.h"

namespace tl::gf {

class Potential {
public:
    Potential() = default;
    // `choice`: none | quadratic | double-well | image:PATH (relative to baseDir). The image spans
    // `imageWidth` units horizontally, centred at 0; outside it V takes the nearest edge value.
    // Throws tl::Error naming `who` and the key 'potential' (missing or unreadable image).
    static Potential parse(const std::string& choice, double strength, double imageWidth, const std::string& baseDir,
                           const std::string& who);

    bool isNone() const { return kind_ == Kind::None || strength_ == 0; }
    bool isQuadratic() const { return kind_ == Kind::Quadratic; }
    double strength() const { return strength_; }
    double value(const double* x, int dim) const;
    void gradient(const double* x, int dim, double* g) const;

private:
    enum class Kind { None, Quadratic, DoubleWell, Image };
    double imageAt(double x, double y) const;  // bilinear, clamped to the picture
    Kind kind_ = Kind::None;
    double strength_ = 1;
    double width_ = 8;
    std::shared_ptr<const GrayImage> image_;
};

}  // namespace tl::gf
