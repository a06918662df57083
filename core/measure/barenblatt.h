// The Barenblatt profile, the exact self-similar solution of the porous medium equation
// d/dt rho = Laplacian(rho^m) (science.md §4, survey (16)): rho(x, t) = t^-alpha (C - k |x|^2 t^(-2 alpha/d))_+^(1/(m-1)).
#pragma once
#include <cmath>
#include <numbers>

namespace tl {

struct BarenblattProfile {
    double m = 2, t0 = 0.1, mass = 1;
    int dim = 2;
    double alpha = 0, k = 0, C = 0;

    BarenblattProfile() = default;
    BarenblattProfile(double m_, double t0_, double mass_, int dim_) : m(m_), t0(t0_), mass(mass_), dim(dim_) {
        const double d = dim, p = 1 / (m - 1);
        alpha = d / (d * (m - 1) + 2);
        k = alpha * (m - 1) / (2 * m * d);
        // mass = C^(p + d/2) k^(-d/2) pi^(d/2) Gamma(p + 1) / Gamma(p + 1 + d/2)  (substitute y = x t^(-alpha/d))
        const double logC = (std::log(mass) + 0.5 * d * std::log(k) + std::lgamma(p + 1 + 0.5 * d) - 0.5 * d * std::log(std::numbers::pi) -
                             std::lgamma(p + 1)) /
                            (p + 0.5 * d);
        C = std::exp(logC);
    }
    // Density at squared radius r2 and time t.
    double density(double r2, double t) const {
        const double base = C - k * r2 * std::pow(t, -2 * alpha / dim);
        return base > 0 ? std::pow(t, -alpha) * std::pow(base, 1 / (m - 1)) : 0.0;
    }
    // Radius of the support at time t (default: t0).
    double radius(double t) const { return std::sqrt(C / k) * std::pow(t, alpha / dim); }
    double radius() const { return radius(t0); }
    // E|x|^2 / mass at time t: R(t)^2 * E[Beta(d/2, p + 1)] = R^2 (d/2) / (d/2 + p + 1).
    double secondMoment(double t) const {
        const double p = 1 / (m - 1), R = radius(t);
        return R * R * (0.5 * dim) / (0.5 * dim + p + 1);
    }
};

}  // namespace tl
