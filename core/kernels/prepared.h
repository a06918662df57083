// Internal: the padded structure-of-arrays inputs the SIMD kernels read (not a public header).
#pragma once
#include <cstddef>

namespace tl::kernels::detail {

constexpr std::size_t kPadJ = 64;   // m is padded to a multiple of this (>= any lane count)
constexpr std::size_t kRowBlock = 4;

template <class T>
struct Prepared {
    int dim = 2;
    int vdim = 0;
    std::size_t n = 0;        // valid rows
    std::size_t mPadded = 0;  // padded columns
    const T* x = nullptr;     // row-major, n * dim
    const T* ys[3] = {};      // SoA, mPadded each
    const T* h = nullptr;     // mPadded; padding = -inf
    const T* vs[4] = {};      // SoA values, mPadded each
    T scale = 1;
    T center[3] = {};         // subtracted from x and y (double path)
};

}  // namespace tl::kernels::detail
