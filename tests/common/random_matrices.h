// Seeded random test matrices shared by the core tests (one definition each).
#pragma once

#include <Eigen/Dense>

#include "util/rng.h"

namespace tltest {

// A random symmetric positive-definite d×d matrix B·Bᵀ/d + ridge·I, B with i.i.d. standard normal
// entries drawn row by row from `rng`: eigenvalues of order 1, the smallest at least `ridge`.
inline Eigen::MatrixXd randomSpd(int d, tl::Rng& rng, double ridge = 0.2) {
    Eigen::MatrixXd b(d, d);
    for (int r = 0; r < d; ++r)
        for (int c = 0; c < d; ++c) b(r, c) = rng.normal();
    return b * b.transpose() / d + ridge * Eigen::MatrixXd::Identity(d, d);
}

// A random vector with i.i.d. N(0, scale²) entries.
inline Eigen::VectorXd randomVec(int d, tl::Rng& rng, double scale = 1) {
    Eigen::VectorXd v(d);
    for (int k = 0; k < d; ++k) v[k] = scale * rng.normal();
    return v;
}

}  // namespace tltest
