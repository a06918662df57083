#include "ot/solve.h"

namespace tl {

OtResult solveOt(const PointCloud& source, const PointCloud& target, const OtOptions& opt) {
    switch (opt.method) {
        case OtMethod::Exact: return solveExact(source, target, opt.exact);
        case OtMethod::Gaussian: return solveGaussian(source, target);
        case OtMethod::Sinkhorn: {
            SinkhornOptions so = opt.sinkhorn;
            so.computePlan = opt.computePlan;
            return sinkhorn(source, target, so);  // sliced to OtResult
        }
    }
    return {};
}

}  // namespace tl
