// Highway implementation of grid_kernels.h: one source compiled per target (foreach_target),
// dispatched at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gradient_flows/grid_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "gradient_flows/grid_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace tl::gf::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void Axpy(double* HWY_RESTRICT y, const double* HWY_RESTRICT x, double a, int n) {
    const hn::ScalableTag<double> d;
    const std::size_t N = hn::Lanes(d), len = static_cast<std::size_t>(n);
    const auto va = hn::Set(d, a);
    std::size_t i = 0;
    for (; i + N <= len; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
    for (; i < len; ++i) y[i] += a * x[i];
}

}  // namespace tl::gf::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tl::gf::kernels {

HWY_EXPORT(Axpy);

void axpy(double* y, const double* x, double a, int n) {
    if (n > 0) HWY_DYNAMIC_DISPATCH(Axpy)(y, x, a, n);
}

}  // namespace tl::gf::kernels
#endif
