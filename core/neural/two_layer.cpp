#include "neural/two_layer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "util/error.h"
#include "util/parallel.h"
#include "util/rng.h"

namespace tl::nn {

namespace {

constexpr double kPi = std::numbers::pi;

// |u||v| sin t for d = 1 (always 0) or 2 (|u x v|), and in general through the Gram determinant.
double crossNorm(const double* u, const double* v, int d, double uu, double vv, double uv) {
    if (d == 1) return 0.0;
    if (d == 2) return std::abs(u[0] * v[1] - u[1] * v[0]);
    return std::sqrt(std::max(0.0, uu * vv - uv * uv));
}

double dot(const double* u, const double* v, int d) {
    double s = 0;
    for (int k = 0; k < d; ++k) s += u[k] * v[k];
    return s;
}

double act(Activation a, double z) { return a == Activation::Relu ? (z > 0 ? z : 0.0) : z; }

// Neurons' second-layer weights in structure-of-arrays form for the O(n^2) ReLU sums (d <= 2, the
// second coordinate 0 when d = 1): w, |w|, the polar angle of w, and the coefficient c (p a).
struct Polar {
    std::vector<double> x, y, r, phi, coef;
    void resize(std::size_t n) {
        x.resize(n), y.resize(n), r.resize(n), phi.resize(n), coef.resize(n);
    }
    void set(std::size_t i, const double* w, int d, double c) {
        x[i] = w[0];
        y[i] = d == 2 ? w[1] : 0.0;
        r[i] = std::hypot(x[i], y[i]);
        phi[i] = std::atan2(y[i], x[i]);  // d = 1: 0 or pi by the sign
        coef[i] = c;
    }
};

// sum_j c_j k(u, w_j) and sum_j c_j grad_u k(u, w_j) (the arc-cosine kernel; grad 0 at u = 0).
// The angle t_j = |phi_u - phi_j| folded into [0, pi], |u||w_j| sin t_j = |u x w_j|.
void reluSums(double ux, double uy, double ur, double uphi, const Polar& P, double& value, double& gx, double& gy) {
    const std::size_t m = P.x.size();
    double s = 0, ax = 0, ay = 0, sc = 0;
    for (std::size_t j = 0; j < m; ++j) {
        double t = std::abs(uphi - P.phi[j]);
        t = t > kPi ? 2 * kPi - t : t;
        const double cross = std::abs(ux * P.y[j] - uy * P.x[j]);
        const double dt = ux * P.x[j] + uy * P.y[j];
        const double c = P.coef[j];
        s += c * (cross + (kPi - t) * dt);
        sc += c * cross;
        ax += c * (kPi - t) * P.x[j];
        ay += c * (kPi - t) * P.y[j];
    }
    value = s / (2 * kPi);
    if (ur > 0) {
        const double f = sc / (ur * ur);
        gx = (f * ux + ax) / (2 * kPi);
        gy = (f * uy + ay) / (2 * kPi);
    } else {
        gx = gy = 0;
    }
}

}  // namespace

double reluKernel(const double* u, const double* v, int d) {
    const double uu = dot(u, u, d), vv = dot(v, v, d), uv = dot(u, v, d);
    if (uu == 0 || vv == 0) return 0.0;
    const double cross = crossNorm(u, v, d, uu, vv, uv);
    const double t = std::atan2(cross, uv);
    return (cross + (kPi - t) * uv) / (2 * kPi);
}

void reluKernelGrad(const double* u, const double* v, int d, double* g) {
    const double uu = dot(u, u, d), vv = dot(v, v, d), uv = dot(u, v, d);
    if (vv == 0 || uu == 0) {
        for (int k = 0; k < d; ++k) g[k] = 0;
        return;
    }
    const double cross = crossNorm(u, v, d, uu, vv, uv);
    const double t = std::atan2(cross, uv);
    // |u| sin t v/|v| = (|u||v| sin t) v / |v|^2
    for (int k = 0; k < d; ++k) g[k] = (cross * v[k] / vv + (kPi - t) * u[k]) / (2 * kPi);
}

std::vector<std::vector<double>> Teacher::rows() const {
    std::vector<std::vector<double>> out(a.size());
    for (std::size_t j = 0; j < a.size(); ++j) {
        out[j].push_back(a[j]);
        for (int k = 0; k < dim; ++k) out[j].push_back(w[j * dim + k]);
    }
    return out;
}

double Teacher::label(const double* x, Activation act_) const {
    double s = 0;
    for (std::size_t j = 0; j < a.size(); ++j) s += a[j] * act(act_, dot(&w[j * dim], x, dim));
    return s / static_cast<double>(a.size());
}

Teacher makeTeacher(int k, int d, std::uint64_t seed) {
    if (k < 1 || d < 1 || d > 2) throw Error("teacher: needs k >= 1 neurons and input dimension 1 or 2");
    Teacher T;
    T.dim = d;
    Rng rng(seed);
    for (int j = 0; j < k; ++j) {
        if (d == 2) {
            const double phi = 2 * kPi * rng.uniform();
            T.w.push_back(std::cos(phi));
            T.w.push_back(std::sin(phi));
        } else {
            T.w.push_back(rng.uniform() < 0.5 ? -1.0 : 1.0);
        }
        T.a.push_back((j % 2 == 0 ? 1.0 : -1.0) * rng.uniform(0.5, 1.5));
    }
    return T;
}

TwoLayerRisk::TwoLayerRisk(Activation act_in, Teacher teacher, long samples, std::uint64_t seed)
    : act_(act_in), teacher_(std::move(teacher)) {
    const int d = teacher_.dim;
    const int k = teacher_.size();
    C_ = Eigen::MatrixXd::Identity(d, d);
    c_ = Eigen::VectorXd::Zero(d);
    if (samples > 0) {
        Rng rng(seed);
        x_.resize(static_cast<std::size_t>(samples) * d);
        y_.resize(static_cast<std::size_t>(samples));
        for (double& v : x_) v = rng.normal();
        C_.setZero();
        for (long s = 0; s < samples; ++s) {
            const double* x = &x_[static_cast<std::size_t>(s) * d];
            y_[s] = teacher_.label(x, act_);
            yy_ += y_[s] * y_[s] / static_cast<double>(samples);
            for (int r = 0; r < d; ++r) {
                c_[r] += x[r] * y_[s] / static_cast<double>(samples);
                for (int q = 0; q < d; ++q) C_(r, q) += x[r] * x[q] / static_cast<double>(samples);
            }
        }
        return;
    }
    if (act_ == Activation::Linear) {
        for (int j = 0; j < k; ++j)
            for (int r = 0; r < d; ++r) c_[r] += teacher_.a[j] * teacher_.w[j * d + r] / k;
        yy_ = c_.squaredNorm();
    } else {
        // E[relu(w*.x) x] = w*/2, so c = (1/k) sum a*_j w*_j / 2 (kept for completeness).
        for (int j = 0; j < k; ++j)
            for (int r = 0; r < d; ++r) c_[r] += 0.5 * teacher_.a[j] * teacher_.w[j * d + r] / k;
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) yy_ += teacher_.a[i] * teacher_.a[j] * reluKernel(&teacher_.w[i * d], &teacher_.w[j * d], d);
        yy_ /= static_cast<double>(k) * k;
    }
}

double TwoLayerRisk::evaluate(const double* theta, const double* p, std::size_t n, double* grad, int threads) const {
    // a linear network's risk depends on the data only through C, c and E y^2 (the sample's when empirical)
    if (act_ == Activation::Linear) return linearRisk(theta, p, n, grad);
    if (empirical()) return empiricalRisk(theta, p, n, grad, threads);
    return populationRelu(theta, p, n, grad, threads);
}

double TwoLayerRisk::linearRisk(const double* theta, const double* p, std::size_t n, double* grad) const {
    const int d = dim(), s = d + 1;
    Eigen::VectorXd beta = Eigen::VectorXd::Zero(d);
    for (std::size_t i = 0; i < n; ++i)
        for (int r = 0; r < d; ++r) beta[r] += p[i] * theta[i * s] * theta[i * s + 1 + r];
    const Eigen::VectorXd g = C_ * beta - c_;
    if (grad)
        for (std::size_t i = 0; i < n; ++i) {
            double gw = 0;
            for (int r = 0; r < d; ++r) {
                gw += g[r] * theta[i * s + 1 + r];
                grad[i * s + 1 + r] = theta[i * s] * g[r];
            }
            grad[i * s] = gw;
        }
    return std::max(0.0, 0.5 * beta.dot(C_ * beta) - beta.dot(c_) + 0.5 * yy_);
}

double TwoLayerRisk::populationRelu(const double* theta, const double* p, std::size_t n, double* grad, int threads) const {
    const int d = dim(), s = d + 1, k = teacher_.size();
    Polar students, teachers;
    students.resize(n);
    teachers.resize(static_cast<std::size_t>(k));
    for (std::size_t i = 0; i < n; ++i) students.set(i, &theta[i * s + 1], d, p[i] * theta[i * s]);
    for (int j = 0; j < k; ++j) teachers.set(static_cast<std::size_t>(j), &teacher_.w[j * d], d, teacher_.a[j] / k);
    // per neuron: S_i = sum_j p_j a_j k(w_i, w_j) (= E[f sigma(w_i.x)]), T_i = E[y sigma(w_i.x)]
    std::vector<double> S(n), T(n);
    parallelFor(n, 16, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            double sv, sx, sy, tv, tx, ty;
            reluSums(students.x[i], students.y[i], students.r[i], students.phi[i], students, sv, sx, sy);
            reluSums(students.x[i], students.y[i], students.r[i], students.phi[i], teachers, tv, tx, ty);
            S[i] = sv;
            T[i] = tv;
            if (grad) {
                const double a = theta[i * s];
                grad[i * s] = sv - tv;
                grad[i * s + 1] = a * (sx - tx);
                if (d == 2) grad[i * s + 2] = a * (sy - ty);
            }
        }
    });
    // F = 1/2 (E f^2 - 2 E f y + E y^2), E f^2 = sum p_i a_i S_i, E f y = sum p_i a_i T_i
    double ff = 0, fy = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ff += p[i] * theta[i * s] * S[i];
        fy += p[i] * theta[i * s] * T[i];
    }
    // (a sum of O(1) terms: clamped at 0 where rounding would make a vanishing risk negative)
    return std::max(0.0, 0.5 * (ff - 2 * fy + yy_));
}

namespace {

// The empirical ReLU risk over the sample (x_m, y_m), d = D, and its gradient: residuals r_m = f(x_m) - y_m
// (parallel over the sample), then grad_a = mean r_m relu(w_i.x_m), grad_w = a_i mean r_m 1{w_i.x_m > 0} x_m
// (parallel over the neurons).
template <int D>
double empiricalRelu(const double* theta, const double* p, std::size_t n, double* grad, const std::vector<double>& X,
                     const std::vector<double>& Y, int threads) {
    constexpr int S = D + 1;
    const std::size_t M = Y.size();
    std::vector<double> r(M);
    parallelFor(M, 32, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t m = b; m < e; ++m) {
            const double* x = &X[m * D];
            double f = 0;
            for (std::size_t i = 0; i < n; ++i) {
                double z = 0;
                for (int c = 0; c < D; ++c) z += theta[i * S + 1 + c] * x[c];
                f += z > 0 ? p[i] * theta[i * S] * z : 0.0;
            }
            r[m] = f - Y[m];
        }
    });
    double F = 0;
    for (double v : r) F += v * v;
    F *= 0.5 / static_cast<double>(M);
    if (grad)
        parallelFor(n, 16, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                const double* w = &theta[i * S + 1];
                double ga = 0, gw[D] = {};
                for (std::size_t m = 0; m < M; ++m) {
                    const double* x = &X[m * D];
                    double z = 0;
                    for (int c = 0; c < D; ++c) z += w[c] * x[c];
                    const double q = z > 0 ? r[m] : 0.0;
                    ga += q * z;
                    for (int c = 0; c < D; ++c) gw[c] += q * x[c];
                }
                grad[i * S] = ga / static_cast<double>(M);
                for (int c = 0; c < D; ++c) grad[i * S + 1 + c] = theta[i * S] * gw[c] / static_cast<double>(M);
            }
        });
    return F;
}

}  // namespace

double TwoLayerRisk::empiricalRisk(const double* theta, const double* p, std::size_t n, double* grad, int threads) const {
    return dim() == 1 ? empiricalRelu<1>(theta, p, n, grad, x_, y_, threads) : empiricalRelu<2>(theta, p, n, grad, x_, y_, threads);
}

void linearClosureStep(Eigen::VectorXd& m, Eigen::MatrixXd& S, const Eigen::MatrixXd& C, const Eigen::VectorXd& c, double h) {
    const int d = static_cast<int>(c.size());
    auto rhs = [&](const Eigen::VectorXd& mm, const Eigen::MatrixXd& SS, Eigen::VectorXd& dm, Eigen::MatrixXd& dS) {
        const Eigen::VectorXd beta = SS.block(1, 0, d, 1) + mm[0] * mm.tail(d);
        const Eigen::VectorXd g = C * beta - c;
        Eigen::MatrixXd G = Eigen::MatrixXd::Zero(d + 1, d + 1);
        G.block(0, 1, 1, d) = g.transpose();
        G.block(1, 0, d, 1) = g;
        dm = -G * mm;
        dS = -(G * SS + SS * G);
    };
    Eigen::VectorXd m1, m2, m3, m4;
    Eigen::MatrixXd S1, S2, S3, S4;
    rhs(m, S, m1, S1);
    rhs(m + 0.5 * h * m1, S + 0.5 * h * S1, m2, S2);
    rhs(m + 0.5 * h * m2, S + 0.5 * h * S2, m3, S3);
    rhs(m + h * m3, S + h * S3, m4, S4);
    m += h / 6 * (m1 + 2 * m2 + 2 * m3 + m4);
    S += h / 6 * (S1 + 2 * S2 + 2 * S3 + S4);
    S = 0.5 * (S + S.transpose()).eval();
}

}  // namespace tl::nn
