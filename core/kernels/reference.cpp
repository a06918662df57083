// Scalar reference of the kernel-reduction engine: exact max pass, then a sum pass.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reduce.h"
#include "util/error.h"

namespace tl::kernels::reference {

namespace {

template <class T>
void run(const PairSet<T>& p, const T* values, int vdim, T* out, T* lse) {
    std::vector<T> s(p.m);
    std::vector<long double> acc(vdim > 0 ? vdim : 1);
    for (std::size_t i = 0; i < p.n; ++i) {
        T mx = -std::numeric_limits<T>::infinity();
        for (std::size_t j = 0; j < p.m; ++j) {
            T c = 0;
            for (int k = 0; k < p.dim; ++k) {
                const T d = p.x[i * p.dim + k] - p.y[j * p.dim + k];
                c += d * d;
            }
            s[j] = (p.h ? p.h[j] : T(0)) - p.scale * c;
            mx = std::max(mx, s[j]);
        }
        long double sum = 0;
        for (auto& a : acc) a = 0;
        if (mx > -std::numeric_limits<T>::infinity()) {
            for (std::size_t j = 0; j < p.m; ++j) {
                const long double e = std::exp(static_cast<long double>(s[j]) - mx);
                sum += e;
                for (int k = 0; k < vdim; ++k) acc[k] += e * values[j * vdim + k];
            }
        }
        const T l = sum > 0 ? static_cast<T>(mx + std::log(sum)) : -std::numeric_limits<T>::infinity();
        if (lse) lse[i] = l;
        for (int k = 0; k < vdim; ++k) out[i * vdim + k] = sum > 0 ? static_cast<T>(acc[k] / sum) : T(0);
    }
}

}  // namespace

void logSumExp(const PairSet<double>& p, double* out) { run<double>(p, nullptr, 0, nullptr, out); }
void logSumExp(const PairSet<float>& p, float* out) { run<float>(p, nullptr, 0, nullptr, out); }
void softmaxWeightedSum(const PairSet<double>& p, const double* v, int vdim, double* out, double* lse) { run<double>(p, v, vdim, out, lse); }
void softmaxWeightedSum(const PairSet<float>& p, const float* v, int vdim, float* out, float* lse) { run<float>(p, v, vdim, out, lse); }

}  // namespace tl::kernels::reference
