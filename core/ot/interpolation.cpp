#include "ot/interpolation.h"

#include "util/error.h"

namespace tl {

PointCloud displacementInterpolation(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y, double t) {
    if (x.dim != y.dim) throw Error("displacement interpolation: dimension mismatch");
    PointCloud out;
    out.dim = x.dim;
    out.points.resize(plan.size() * x.dim);
    out.weights.resize(plan.size());
    for (std::size_t k = 0; k < plan.size(); ++k) {
        const auto& e = plan[k];
        if (e.i >= x.size() || e.j >= y.size()) throw Error("displacement interpolation: plan index out of range");
        for (int c = 0; c < x.dim; ++c) out.points[k * x.dim + c] = (1 - t) * x.point(e.i)[c] + t * y.point(e.j)[c];
        out.weights[k] = e.mass;
    }
    return out;
}

PointCloud mapInterpolation(const PointCloud& x, const std::vector<double>& mapped, double t) {
    if (mapped.size() != x.points.size()) throw Error("map interpolation: map size does not match the measure");
    PointCloud out = x;
    for (std::size_t k = 0; k < out.points.size(); ++k) out.points[k] = (1 - t) * x.points[k] + t * mapped[k];
    return out;
}

}  // namespace tl
