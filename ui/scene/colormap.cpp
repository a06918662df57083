#include "scene/colormap.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

#include "measure/measure.h"

namespace tl::ui {

namespace {
// Key colours of matplotlib's perceptually uniform maps (9 evenly spaced samples), linearly interpolated.
constexpr std::uint8_t kViridis[9][3] = {{68, 1, 84},   {71, 44, 122},  {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
                                         {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}};
constexpr std::uint8_t kInferno[9][3] = {{0, 0, 4},     {31, 12, 72},  {85, 15, 109},  {136, 34, 106}, {186, 54, 85},
                                         {227, 89, 51}, {249, 140, 10}, {249, 201, 50}, {252, 255, 164}};
// One palette, three disjoint roles: the target is orange (and only it); panels (chart curves, table
// names) and mixture components / clusters (particle colours) draw from sets that share no colour.
constexpr QRgb kTarget = 0xf5922e;
constexpr QRgb kPanels[8] = {0x4e9df0, 0x5fc46b, 0xf07fc8, 0x4fd0d6, 0x2b6cb0, 0x2f855a, 0x97266d, 0x2c7a7b};
constexpr QRgb kComponents[10] = {0xe8575a, 0xa98be6, 0xd6d04a, 0x8dd3c7, 0xb08a6e,
                                  0xfccde5, 0x80b1d3, 0xbebada, 0xb3de69, 0xffffb3};
}  // namespace

std::array<std::uint8_t, 3> colormapRgb(Colormap map, double s) {
    const auto& table = map == Colormap::Viridis ? kViridis : kInferno;
    if (!(s >= 0)) s = 0;  // NaN too
    s = std::min(s, 1.0) * 8.0;
    const int i = std::min(7, static_cast<int>(s));
    const double f = s - i;
    std::array<std::uint8_t, 3> out{};
    for (int c = 0; c < 3; ++c) out[c] = static_cast<std::uint8_t>(std::lround(table[i][c] + f * (table[i + 1][c] - table[i][c])));
    return out;
}

std::vector<std::array<std::uint8_t, 3>> colormapTable(Colormap map, int count) {
    std::vector<std::array<std::uint8_t, 3>> t(static_cast<std::size_t>(std::max(count, 2)));
    for (std::size_t k = 0; k < t.size(); ++k) t[k] = colormapRgb(map, static_cast<double>(k) / static_cast<double>(t.size() - 1));
    return t;
}

QColor targetColor() { return QColor::fromRgb(kTarget); }
QColor panelColor(int k) { return QColor::fromRgb(kPanels[((k % 8) + 8) % 8]); }
QColor componentColor(int k) { return QColor::fromRgb(kComponents[((k % 10) + 10) % 10]); }

std::vector<std::uint8_t> positionColors(const std::vector<double>& points, int dim) {
    const std::size_t n = dim > 0 ? points.size() / static_cast<std::size_t>(dim) : 0;
    std::vector<std::uint8_t> rgb(3 * n);
    if (n == 0) return rgb;
    double mean[3] = {0, 0, 0}, sd[3] = {0, 0, 0};
    for (std::size_t i = 0; i < n; ++i)
        for (int k = 0; k < dim; ++k) mean[k] += points[i * dim + k] / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i)
        for (int k = 0; k < dim; ++k) sd[k] += std::pow(points[i * dim + k] - mean[k], 2) / static_cast<double>(n);
    for (int k = 0; k < dim; ++k) sd[k] = sd[k] > 0 ? std::sqrt(sd[k]) : 1.0;
    for (std::size_t i = 0; i < n; ++i) {
        QColor c;
        if (dim == 2) {
            const double x = (points[i * 2] - mean[0]) / sd[0], y = (points[i * 2 + 1] - mean[1]) / sd[1];
            const double hue = (std::atan2(y, x) / (2 * M_PI)) + 0.5;  // [0, 1]
            const double sat = std::clamp(0.25 + 0.45 * std::hypot(x, y), 0.25, 0.95);
            c = QColor::fromHsvF(static_cast<float>(std::fmod(hue, 1.0)), static_cast<float>(sat), 0.97f);
        } else if (dim == 3) {
            auto ch = [&](int k) { return std::clamp(0.5 + 0.22 * (points[i * 3 + k] - mean[k]) / sd[k], 0.08, 1.0); };
            c = QColor::fromRgbF(static_cast<float>(ch(0)), static_cast<float>(ch(1)), static_cast<float>(ch(2)));
        } else {
            const auto m = colormapRgb(Colormap::Viridis, 0.5 + 0.2 * (points[i] - mean[0]) / sd[0]);
            c = QColor(m[0], m[1], m[2]);
        }
        rgb[3 * i] = static_cast<std::uint8_t>(c.red());
        rgb[3 * i + 1] = static_cast<std::uint8_t>(c.green());
        rgb[3 * i + 2] = static_cast<std::uint8_t>(c.blue());
    }
    return rgb;
}

std::vector<std::uint8_t> scalarColors(const std::vector<double>& values, double lo, double hi, Colormap map) {
    std::vector<std::uint8_t> rgb(3 * values.size());
    const double span = hi > lo ? hi - lo : 1.0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto c = colormapRgb(map, (values[i] - lo) / span);
        std::copy(c.begin(), c.end(), rgb.begin() + static_cast<std::ptrdiff_t>(3 * i));
    }
    return rgb;
}

std::vector<int> mixtureLabels(const std::vector<double>& points, int dim, const GaussianMixture* law) {
    const std::size_t n = dim > 0 ? points.size() / static_cast<std::size_t>(dim) : 0;
    std::vector<int> labels(n, 0);
    if (!law || law->components.size() < 2 || law->dim() != dim) return labels;
    // log p_k + log N(x; m_k, S_k) up to the common constant, via each component's Cholesky factor.
    struct Comp {
        Eigen::LLT<Eigen::MatrixXd> llt;
        Eigen::VectorXd mean;
        double logNorm;
    };
    std::vector<Comp> comps;
    for (const auto& c : law->components) {
        Comp k{Eigen::LLT<Eigen::MatrixXd>(c.cov), c.mean, 0};
        const Eigen::MatrixXd L = k.llt.matrixL();
        k.logNorm = std::log(std::max(c.weight, 1e-300)) - L.diagonal().array().log().sum();
        comps.push_back(std::move(k));
    }
    Eigen::VectorXd x(dim);
    for (std::size_t i = 0; i < n; ++i) {
        for (int k = 0; k < dim; ++k) x(k) = points[i * dim + k];
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < comps.size(); ++k) {
            const Eigen::VectorXd z = comps[k].llt.matrixL().solve(x - comps[k].mean);
            const double score = comps[k].logNorm - 0.5 * z.squaredNorm();
            if (score > best) {
                best = score;
                labels[i] = static_cast<int>(k);
            }
        }
    }
    return labels;
}

}  // namespace tl::ui
