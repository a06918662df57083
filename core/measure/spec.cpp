#include "measure/spec.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <memory>
#include <set>
#include <sstream>

#include "measure/barenblatt.h"
#include "measure/csv.h"
#include "measure/image_density.h"
#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"
#include "util/rng.h"

namespace tl {

// ---- SpecArgs --------------------------------------------------------------------------

void SpecArgs::fail(const std::string& key, const std::string& why) const {
    throw Error(kind_ + ": key " + tl::quoted(key) + " " + why);
}

bool SpecArgs::has(const std::string& key) const {
    auto it = values_.find(key);
    return it != values_.end() && !it->second.empty();
}

std::string SpecArgs::text(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end() || it->second.empty()) fail(key, "is required");
    return it->second;
}

double SpecArgs::real(const std::string& key, double lo, double hi) const {
    double v;
    const std::string s = text(key);
    if (!parseNumber(s, v)) fail(key, "must be a finite number (got " + tl::quoted(s) + ")");
    if (v < lo || v > hi) {
        std::ostringstream os;
        os << "must be in [" << lo << ", " << hi << "] (got " << oneLine(s, 80) << ")";
        fail(key, os.str());
    }
    return v;
}

long long SpecArgs::integer(const std::string& key, long long lo, long long hi) const {
    double v;
    const std::string s = text(key);
    if (!parseNumber(s, v) || v != std::floor(v) || std::abs(v) > 9e15) fail(key, "must be an integer (got " + tl::quoted(s) + ")");
    if (v < static_cast<double>(lo) || v > static_cast<double>(hi))
        fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (got " + oneLine(s, 80) + ")");
    return static_cast<long long>(v);
}

std::vector<double> SpecArgs::list(const std::string& key) const {
    const std::string s = text(key);
    std::vector<double> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t p = s.find(';', start);
        const std::string tok = s.substr(start, p == std::string::npos ? std::string::npos : p - start);
        double v;
        if (!parseNumber(tok, v)) fail(key, "has an invalid number " + tl::quoted(tok) + " (lists are separated by ';')");
        out.push_back(v);
        if (p == std::string::npos) break;
        start = p + 1;
    }
    return out;
}

// ---- generators -----------------------------------------------------------------------

namespace {

constexpr long long kMaxN = 50'000'000;
const double kPi = std::numbers::pi;

std::size_t countOf(const SpecArgs& a) { return static_cast<std::size_t>(a.integer("n", 1, kMaxN)); }
std::uint64_t seedOf(const SpecArgs& a) { return static_cast<std::uint64_t>(a.integer("seed", 0, 9'000'000'000'000'000LL)); }

// A dimension taken from a list's length, checked against 1..3.
int dimFromList(const SpecArgs& a, const std::string& key, std::size_t len) {
    if (len < 1 || len > 3) throw Error(a.kind() + ": key '" + key + "' must have 1 to 3 values (one per dimension)");
    return static_cast<int>(len);
}

std::vector<double> center2(const SpecArgs& a) {
    auto c = a.list("center");
    if (c.size() != 2) throw Error(a.kind() + ": key 'center' must have 2 values");
    return c;
}

// Symmetric square root factor of a covariance (eigen-decomposition; PSD required).
Eigen::MatrixXd covarianceFactor(const SpecArgs& a, const std::string& key, int dim) {
    auto c = a.list(key);
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(dim, dim);
    if (c.size() == 1) {
        cov.diagonal().setConstant(c[0]);
    } else if (c.size() == static_cast<std::size_t>(dim * dim)) {
        for (int r = 0; r < dim; ++r)
            for (int k = 0; k < dim; ++k) cov(r, k) = c[r * dim + k];
        if (!cov.isApprox(cov.transpose(), 1e-12)) throw Error(a.kind() + ": key '" + key + "' must be a symmetric matrix");
    } else if (c.size() == static_cast<std::size_t>(dim)) {
        for (int r = 0; r < dim; ++r) cov(r, r) = c[r];
    } else {
        throw Error(a.kind() + ": key '" + key + "' must have 1, d or d*d values (d = " + std::to_string(dim) + ")");
    }
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
    const double scale = std::max(1.0, es.eigenvalues().cwiseAbs().maxCoeff());
    if (es.eigenvalues().minCoeff() < -1e-12 * scale) throw Error(a.kind() + ": key '" + key + "' is not positive semi-definite");
    return es.eigenvectors() * es.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() * es.eigenvectors().transpose();
}

Measure makeGaussian(const SpecArgs& a) {
    int dim = 2;
    if (a.has("mean")) dim = dimFromList(a, "mean", a.list("mean").size());
    else if (a.has("dim")) dim = static_cast<int>(a.integer("dim", 1, 3));
    else if (a.has("cov")) {
        const auto c = a.list("cov").size();
        dim = (c == 3 || c == 9) ? 3 : 2;  // 1 (isotropic), 2 or 4 values: 2-D; 3 or 9: 3-D
    }
    if (a.has("dim") && a.integer("dim", 1, 3) != dim) throw Error("gaussian: key 'dim' disagrees with the length of 'mean'");
    std::vector<double> mean = a.has("mean") ? a.list("mean") : std::vector<double>(dim, 0.0);
    Eigen::MatrixXd L = a.has("cov") ? covarianceFactor(a, "cov", dim) : Eigen::MatrixXd::Identity(dim, dim);
    const std::size_t n = countOf(a);
    Rng rng(seedOf(a));
    std::vector<double> pts(n * dim);
    Eigen::VectorXd z(dim);
    for (std::size_t i = 0; i < n; ++i) {
        for (int k = 0; k < dim; ++k) z[k] = rng.normal();
        const Eigen::VectorXd x = L * z;
        for (int k = 0; k < dim; ++k) pts[i * dim + k] = mean[k] + x[k];
    }
    GaussianMixture law;
    law.components.push_back({1.0, Eigen::Map<Eigen::VectorXd>(mean.data(), dim), L * L});
    return {PointCloud::withUniformWeights(dim, std::move(pts)), law, ""};
}

Measure makeGmm(const SpecArgs& a) {
    const int dim = static_cast<int>(a.integer("dim", 1, 3));
    const auto means = a.list("means");
    if (means.size() % dim != 0) throw Error("gmm: key 'means' must have a multiple of dim = " + std::to_string(dim) + " values");
    const std::size_t K = means.size() / dim;
    auto stds = a.list("std");
    if (stds.size() == 1) stds.assign(K, stds[0]);
    if (stds.size() != K) throw Error("gmm: key 'std' must have 1 or " + std::to_string(K) + " values (one per component)");
    for (double s : stds)
        if (s < 0) throw Error("gmm: key 'std' must be >= 0");
    std::vector<double> w = a.has("weights") ? a.list("weights") : std::vector<double>(K, 1.0);
    if (w.size() != K) throw Error("gmm: key 'weights' must have " + std::to_string(K) + " values (one per component)");
    double tot = 0;
    for (double v : w) {
        if (v < 0) throw Error("gmm: key 'weights' must be >= 0");
        tot += v;
    }
    if (!(tot > 0)) throw Error("gmm: key 'weights' are all zero");
    const std::size_t n = countOf(a);
    Rng rng(seedOf(a));
    std::vector<double> pts(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
        double u = rng.uniform() * tot;
        std::size_t k = 0;
        while (k + 1 < K && u >= w[k]) u -= w[k++];
        for (int c = 0; c < dim; ++c) pts[i * dim + c] = means[k * dim + c] + stds[k] * rng.normal();
    }
    GaussianMixture law;
    for (std::size_t k = 0; k < K; ++k)
        law.components.push_back({w[k] / tot, Eigen::Map<const Eigen::VectorXd>(means.data() + k * dim, dim),
                                  stds[k] * stds[k] * Eigen::MatrixXd::Identity(dim, dim)});
    return {PointCloud::withUniformWeights(dim, std::move(pts)), law, ""};
}

Measure makeUniform(const SpecArgs& a) {
    const auto lo = a.list("low"), hi = a.list("high");
    const int dim = dimFromList(a, "low", lo.size());
    if (hi.size() != lo.size()) throw Error("uniform: keys 'low' and 'high' must have the same length");
    for (int k = 0; k < dim; ++k)
        if (!(hi[k] > lo[k])) throw Error("uniform: key 'high' must exceed 'low' in every coordinate");
    const std::size_t n = countOf(a);
    Rng rng(seedOf(a));
    std::vector<double> pts(n * dim);
    for (std::size_t i = 0; i < n; ++i)
        for (int k = 0; k < dim; ++k) pts[i * dim + k] = rng.uniform(lo[k], hi[k]);
    Measure m{PointCloud::withUniformWeights(dim, std::move(pts)), std::nullopt, "", {}};
    m.density = [lo, hi, dim](const double* x) {
        for (int k = 0; k < dim; ++k)
            if (x[k] < lo[k] || x[k] > hi[k]) return 0.0;
        return 1.0;
    };
    return m;
}

template <class F>
Measure make2d(const SpecArgs& a, F sample) {
    const std::size_t n = countOf(a);
    Rng rng(seedOf(a));
    std::vector<double> pts(2 * n);
    for (std::size_t i = 0; i < n; ++i) sample(rng, i, pts[2 * i], pts[2 * i + 1]);
    return {PointCloud::withUniformWeights(2, std::move(pts)), std::nullopt, ""};
}

Measure makeDisk(const SpecArgs& a) {
    const double R = a.real("radius", 1e-12, 1e12);
    const auto c = center2(a);
    Measure m = make2d(a, [&](Rng& rng, std::size_t, double& x, double& y) {
        const double r = R * std::sqrt(rng.uniform()), t = 2 * kPi * rng.uniform();
        x = c[0] + r * std::cos(t);
        y = c[1] + r * std::sin(t);
    });
    m.density = [R, c](const double* x) { return std::hypot(x[0] - c[0], x[1] - c[1]) <= R ? 1.0 : 0.0; };
    return m;
}

Measure makeRing(const SpecArgs& a) {
    const double R = a.real("radius", 1e-12, 1e12), noise = a.real("noise", 0, 1e12);
    const auto c = center2(a);
    Measure m = make2d(a, [&](Rng& rng, std::size_t, double& x, double& y) {
        const double t = 2 * kPi * rng.uniform(), r = R + noise * rng.normal();
        x = c[0] + r * std::cos(t);
        y = c[1] + r * std::sin(t);
    });
    // r = R + noise * N(0, 1) at a uniform angle: density p(r) / (2 pi r) (|r| folds negative radii).
    if (noise > 0)
        m.density = [R, noise, c](const double* x) {
            const double r = std::hypot(x[0] - c[0], x[1] - c[1]);
            if (r <= 0) return 0.0;
            const double u = (r - R) / noise, v = (r + R) / noise;
            return (std::exp(-0.5 * u * u) + std::exp(-0.5 * v * v)) / r;
        };
    return m;
}

Measure makeMoons(const SpecArgs& a) {
    const double noise = a.real("noise", 0, 1e12), s = a.real("scale", 1e-12, 1e12);
    return make2d(a, [&](Rng& rng, std::size_t i, double& x, double& y) {
        const double t = kPi * rng.uniform();
        if (i % 2 == 0) {
            x = std::cos(t);
            y = std::sin(t);
        } else {
            x = 1 - std::cos(t);
            y = 0.5 - std::sin(t);
        }
        x = s * (x - 0.5 + noise * rng.normal());
        y = s * (y - 0.25 + noise * rng.normal());
    });
}

Measure makeSpirals(const SpecArgs& a) {
    const double noise = a.real("noise", 0, 1e12), turns = a.real("turns", 0.1, 100), R = a.real("radius", 1e-12, 1e12);
    return make2d(a, [&](Rng& rng, std::size_t i, double& x, double& y) {
        const double u = std::sqrt(rng.uniform());
        const double th = u * turns * 2 * kPi + (i % 2 ? kPi : 0.0);
        x = R * u * std::cos(th) + noise * rng.normal();
        y = R * u * std::sin(th) + noise * rng.normal();
    });
}

Measure makeCheckerboard(const SpecArgs& a) {
    const long long cells = a.integer("cells", 2, 1000);
    const double size = a.real("size", 1e-12, 1e12), w = size / static_cast<double>(cells);
    return make2d(a, [&](Rng& rng, std::size_t, double& x, double& y) {
        long long ix, iy;
        do {  // rejection: a uniformly chosen cell, kept when it is a dark one
            ix = static_cast<long long>(rng.below(static_cast<std::uint64_t>(cells)));
            iy = static_cast<long long>(rng.below(static_cast<std::uint64_t>(cells)));
        } while ((ix + iy) % 2 != 0);
        x = -size / 2 + (static_cast<double>(ix) + rng.uniform()) * w;
        y = -size / 2 + (static_cast<double>(iy) + rng.uniform()) * w;
    });
}

Measure makeEightGaussians(const SpecArgs& a) {
    const double R = a.real("radius", 0, 1e12), sd = a.real("std", 0, 1e12);
    Measure m = make2d(a, [&](Rng& rng, std::size_t, double& x, double& y) {
        const double t = 2 * kPi * static_cast<double>(rng.below(8)) / 8.0;
        x = R * std::cos(t) + sd * rng.normal();
        y = R * std::sin(t) + sd * rng.normal();
    });
    GaussianMixture law;
    for (int k = 0; k < 8; ++k)
        law.components.push_back({1.0 / 8, Eigen::Vector2d(R * std::cos(2 * kPi * k / 8.0), R * std::sin(2 * kPi * k / 8.0)),
                                  sd * sd * Eigen::MatrixXd::Identity(2, 2)});
    m.law = law;
    return m;
}

Measure makeImage(const SpecArgs& a) {
    const std::string path = resolvePath(a.text("path"), a.baseDir());
    const double width = a.real("width", 1e-12, 1e12);
    const bool invert = a.integer("invert", 0, 1) != 0;
    auto image = std::make_shared<const GrayImage>(readGrayImage(path));
    Measure m{sampleImageDensity(*image, countOf(a), seedOf(a), width, invert), std::nullopt, "", {}};
    m.density = [image, width, invert](const double* x) {
        const double g = imageValueAt(*image, width, x[0], x[1]);
        if (std::isnan(g)) return 0.0;  // outside the picture
        return invert ? 1 - g : g;
    };
    return m;
}

// Uniform on the unit sphere S^(dim-1) (normalised Gaussian vectors): tokens for the attention view.
Measure makeSphere(const SpecArgs& a) {
    const int dim = static_cast<int>(a.integer("dim", 1, 3));
    const std::size_t n = countOf(a);
    Rng rng(seedOf(a));
    std::vector<double> pts(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
        double r2 = 0;
        do {
            r2 = 0;
            for (int k = 0; k < dim; ++k) {
                pts[i * dim + k] = rng.normal();
                r2 += pts[i * dim + k] * pts[i * dim + k];
            }
        } while (r2 < 1e-24);
        const double r = std::sqrt(r2);
        for (int k = 0; k < dim; ++k) pts[i * dim + k] /= r;
    }
    return {PointCloud::withUniformWeights(dim, std::move(pts)), std::nullopt, "", {}};
}

// Barenblatt profile of the porous medium equation d/dt rho = Laplacian(rho^m) (science.md §4):
// rho(x, t) = t^-alpha (C - k |x|^2 t^(-2 alpha/d))_+^(1/(m-1)), alpha = d/(d(m-1)+2),
// k = alpha(m-1)/(2md), C fixed by the mass. |x|^2 / R(t)^2 ~ Beta(d/2, 1/(m-1) + 1).
Measure makeBarenblatt(const SpecArgs& a) {
    const BarenblattProfile B(a.real("m", 1.000001, 100), a.real("t0", 1e-9, 1e9), a.real("mass", 1e-12, 1e12),
                              static_cast<int>(a.integer("dim", 1, 3)));
    const std::size_t n = countOf(a);
    Rng rng(seedOf(a));
    std::vector<double> pts(n * B.dim);
    // Beta(p, q) = G_p / (G_p + G_q) with Gamma variates; seeded through our own Rng (Marsaglia-Tsang).
    auto gammaVariate = [&](double shape) {
        double boost = 1;
        if (shape < 1) {
            boost = std::pow(rng.uniform() + 1e-300, 1 / shape);
            shape += 1;
        }
        const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
        for (;;) {
            double z, v;
            do {
                z = rng.normal();
                v = 1 + c * z;
            } while (v <= 0);
            v = v * v * v;
            const double u = rng.uniform();
            if (u < 1 - 0.0331 * z * z * z * z || std::log(u + 1e-300) < 0.5 * z * z + d * (1 - v + std::log(v))) return boost * d * v;
        }
    };
    const double R = B.radius();
    for (std::size_t i = 0; i < n; ++i) {
        const double g1 = gammaVariate(0.5 * B.dim), g2 = gammaVariate(1 / (B.m - 1) + 1);
        const double r = R * std::sqrt(g1 / (g1 + g2));
        double dir[3], norm = 0;
        do {
            norm = 0;
            for (int k = 0; k < B.dim; ++k) {
                dir[k] = rng.normal();
                norm += dir[k] * dir[k];
            }
        } while (norm == 0);
        norm = std::sqrt(norm);
        for (int k = 0; k < B.dim; ++k) pts[i * B.dim + k] = r * dir[k] / norm;
    }
    Measure m{PointCloud::withUniformWeights(B.dim, std::move(pts)), std::nullopt, "", {}};
    m.density = [B](const double* x) {
        double r2 = 0;
        for (int k = 0; k < B.dim; ++k) r2 += x[k] * x[k];
        return B.density(r2, B.t0);
    };
    return m;
}

const SpecKey kN{"n", "1000", "number of samples (1 .. 5e7)"};
const SpecKey kSeed{"seed", "0", "random seed (same seed, same points)"};

}  // namespace

const std::vector<GeneratorKind>& generators() {
    static const std::vector<GeneratorKind> kinds = {
        {"gaussian", "Normal distribution N(mean, cov) in 1-3 dimensions",
         {kN, kSeed, {"mean", "", "mean vector, one value per dimension (default 0; sets the dimension)"},
          {"cov", "", "covariance: 1 value (isotropic), d values (diagonal) or d*d values row-major (default identity)"},
          {"dim", "", "dimension when 'mean' is not given (default 2, or 3 when cov has 3 or 9 values)"}},
         makeGaussian},
        {"gmm", "Gaussian mixture with isotropic components",
         {kN, kSeed, {"dim", "2", "dimension"}, {"means", "-2;0;2;0", "component means, dim values per component"},
          {"std", "0.5", "standard deviation, one value or one per component"},
          {"weights", "", "mixture weights, one per component (default equal)"}},
         makeGmm},
        {"uniform", "Uniform on the box [low, high] in 1-3 dimensions",
         {kN, kSeed, {"low", "0;0", "lower corner (sets the dimension)"}, {"high", "1;1", "upper corner"}},
         makeUniform},
        {"disk", "Uniform on a disk", {kN, kSeed, {"radius", "1", "radius"}, {"center", "0;0", "centre"}}, makeDisk},
        {"ring", "Circle with Gaussian radial noise",
         {kN, kSeed, {"radius", "1", "radius"}, {"noise", "0.05", "radial standard deviation"}, {"center", "0;0", "centre"}},
         makeRing},
        {"moons", "Two interleaving half circles (centred at the origin), even/odd samples alternate moons",
         {kN, kSeed, {"noise", "0.05", "Gaussian noise standard deviation"}, {"scale", "1", "scale factor"}},
         makeMoons},
        {"spirals", "Two interleaved spiral arms",
         {kN, kSeed, {"noise", "0.05", "Gaussian noise standard deviation"}, {"turns", "1.5", "turns per arm"},
          {"radius", "2", "outer radius"}},
         makeSpirals},
        {"checkerboard", "Uniform on the dark squares of a checkerboard centred at the origin",
         {kN, kSeed, {"cells", "4", "squares per side"}, {"size", "4", "side length of the board"}},
         makeCheckerboard},
        {"eight-gaussians", "Eight Gaussians on a circle",
         {kN, kSeed, {"radius", "2", "circle radius"}, {"std", "0.1", "standard deviation of each component"}},
         makeEightGaussians},
        {"image", "A grayscale image (PGM, PNG, JPEG) as a 2-D density: brighter = denser",
         {kN, kSeed, {"path", "", "image file (required; relative to the scenario folder)"},
          {"width", "4", "width of the image in space units (centred at 0)"},
          {"invert", "0", "1 = darker is denser"}},
         makeImage},
        {"sphere", "Uniform on the unit sphere (dim 3), circle (dim 2) or {-1, 1} (dim 1): tokens for attention",
         {kN, kSeed, {"dim", "3", "dimension of the ambient space (1-3)"}},
         makeSphere},
        {"barenblatt", "Barenblatt profile of the porous medium equation at time t0 (exact self-similar solution, centred at 0)",
         {kN, kSeed, {"m", "2", "exponent m > 1 of d/dt rho = Laplacian(rho^m)"}, {"t0", "0.1", "time of the profile (> 0)"},
          {"mass", "1", "total mass (the density integrates to it; samples have weights summing to 1)"}, {"dim", "2", "dimension (1-3)"}},
         makeBarenblatt},
    };
    return kinds;
}

PointCloud measureFromSpec(const std::string& spec, const std::string& baseDir) { return sampleMeasure(spec, baseDir).cloud; }

namespace {

struct ParsedSpec {
    const GeneratorKind* kind = nullptr;  // null: a CSV path
    std::string spec;                     // trimmed
    std::map<std::string, std::string> values;  // every key, defaults filled in
};

ParsedSpec parseSpec(const std::string& specIn) {
    ParsedSpec r;
    std::string spec = specIn;
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back()))) spec.pop_back();
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.front()))) spec.erase(spec.begin());
    if (spec.empty()) throw Error("empty measure SPEC");
    r.spec = spec;
    std::string lowerSpec = spec;
    std::transform(lowerSpec.begin(), lowerSpec.end(), lowerSpec.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lowerSpec.size() > 4 && lowerSpec.ends_with(".csv")) return r;

    const std::size_t colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    auto it = std::find_if(generators().begin(), generators().end(), [&](const GeneratorKind& g) { return g.name == kind; });
    if (it == generators().end()) {
        std::string known;
        for (const auto& g : generators()) known += (known.empty() ? "" : ", ") + g.name;
        throw Error("unknown measure kind " + tl::quoted(kind) + " (known: " + known + ", or a path to a .csv file)");
    }
    r.kind = &*it;
    std::map<std::string, std::string>& values = r.values;
    for (const auto& key : it->keys) values[key.name] = key.defaultValue;
    std::set<std::string> given;
    if (colon != std::string::npos) {
        const std::string rest = spec.substr(colon + 1);
        std::size_t start = 0;
        while (start <= rest.size()) {
            std::size_t comma = rest.find(',', start);
            if (comma == std::string::npos) comma = rest.size();
            const std::string kv = rest.substr(start, comma - start);
            start = comma + 1;
            if (kv.empty()) {
                if (comma == rest.size()) break;
                continue;
            }
            const std::size_t eq = kv.find('=');
            if (eq == std::string::npos) throw Error(kind + ": expected key=value, got " + tl::quoted(kv));
            const std::string key = kv.substr(0, eq);
            if (!values.count(key)) {
                std::string known;
                for (const auto& k : it->keys) known += (known.empty() ? "" : ", ") + k.name;
                throw Error(kind + ": unknown key " + tl::quoted(key) + " (known: " + known + ")");
            }
            if (!given.insert(key).second) throw Error(kind + ": key " + tl::quoted(key) + " given twice");
            values[key] = kv.substr(eq + 1);
            if (values[key].empty()) throw Error(kind + ": key " + tl::quoted(key) + " has an empty value");
            if (comma == rest.size()) break;
        }
    }
    return r;
}

}  // namespace

Measure sampleMeasure(const std::string& specIn, const std::string& baseDir) {
    ParsedSpec ps = parseSpec(specIn);
    if (!ps.kind) return {readCsv(resolvePath(ps.spec, baseDir)), std::nullopt, ps.spec, {}};
    const std::string kind = ps.kind->name;
    Measure m = ps.kind->make(SpecArgs(kind, std::move(ps.values), baseDir));
    m.cloud.validate(kind.c_str());
    if (m.law && !m.density) m.density = [law = *m.law](const double* x) { return mixtureDensity(law, x); };
    m.spec = ps.spec;
    return m;
}

std::string specKind(const std::string& spec, std::map<std::string, std::string>* values) {
    ParsedSpec ps = parseSpec(spec);
    if (values) *values = ps.values;
    return ps.kind ? ps.kind->name : std::string();
}

std::string specReferenceMarkdown() {
    std::ostringstream os;
    os << "| kind | key | default | meaning |\n|---|---|---|---|\n";
    for (const auto& g : generators()) {
        os << "| **" << g.name << "** | | | " << g.help << " |\n";
        for (const auto& k : g.keys)
            os << "| | `" << k.name << "` | " << (k.defaultValue.empty() ? "—" : "`" + k.defaultValue + "`") << " | " << k.help << " |\n";
    }
    return os.str();
}

}  // namespace tl
