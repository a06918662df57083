// One entry point for all OT methods (exact | sinkhorn | gaussian) returning the one OtResult.
#pragma once
#include "ot/exact.h"
#include "ot/gaussian.h"
#include "ot/sinkhorn.h"

namespace tl {

struct OtOptions {
    OtMethod method = OtMethod::Exact;
    SinkhornOptions sinkhorn;  // epsilon, tolerance, maxIterations, threads, plan options
    ExactOptions exact;
    bool computePlan = false;
};

OtResult solveOt(const PointCloud& source, const PointCloud& target, const OtOptions& opt);

}  // namespace tl
