// The grid flows' inner loop, SIMD through Highway's dynamic dispatch like the other kernels
// (util/simd.h: TL_SIMD caps the target; the same dispatch in the sanitizer builds).
#pragma once

namespace tl::gf::kernels {

// y[0..n) += a * x[0..n) (one fused multiply-add per element where the target has FMA).
void axpy(double* y, const double* x, double a, int n);

}  // namespace tl::gf::kernels
