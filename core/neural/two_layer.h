// Two-layer networks in the mean-field scaling (science.md §5, survey §6, (19)-(22)): f(x) = sum_i p_i a_i sigma(w_i.x),
// risk F = 1/2 E|f(x) - y|^2 against a teacher y = (1/k) sum_j a*_j sigma(w*_j.x), x ~ N(0, I_d), and the
// Wasserstein gradient grad_theta (dF/dmu)(theta_i), dF/dmu(theta) = E[(f(x) - y) a sigma(w.x)].
#pragma once
#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tl::nn {

enum class Activation { Relu, Linear };

// The arc-cosine kernel k(u, v) = E[relu(u.x) relu(v.x)], x ~ N(0, I_d); the interaction kernel (22) of
// science.md §5 is K(theta, theta') = a a' k(w, w'):
// |u||v|/(2 pi) (sin t + (pi - t) cos t), t the angle between u and v (0 when u or v is 0).
double reluKernel(const double* u, const double* v, int d);
// Its gradient in v: E[relu(u.x) 1{v.x > 0} x] = (|u| sin t v/|v| + (pi - t) u)/(2 pi); 0 at v = 0
// (where 1{v.x > 0} vanishes). Writes d values to g.
void reluKernelGrad(const double* u, const double* v, int d, double* g);

// A teacher network: k neurons (a*_j, w*_j), |w*_j| = 1 uniform on the unit circle (d = 2) or +-1 with
// equal chance (d = 1), a*_j uniform in [0.5, 1.5] with alternating sign (+, -, +, ...), drawn in this
// order (w*_j, then a*_j) through tl::Rng(seed).
struct Teacher {
    int dim = 2;            // d
    std::vector<double> a;  // k
    std::vector<double> w;  // k * d, row-major
    int size() const { return static_cast<int>(a.size()); }
    // Rows [a*_j, w*_j] (k rows of 1 + d values): the summary table and the marker overlay.
    std::vector<std::vector<double>> rows() const;
    // y(x) = (1/k) sum_j a*_j sigma(w*_j.x)
    double label(const double* x, Activation act) const;
};
Teacher makeTeacher(int k, int d, std::uint64_t seed);

// The risk (20)/(21) (science.md §5) of a network (19) given as n neurons theta_i = (a_i, w_i) (rows of
// 1 + d) with weights p_i (sum 1). Population: the exact expectation over x ~ N(0, I_d) (arc-cosine kernel
// for ReLU, O(n^2 + n k)). Empirical: the mean over a fixed, seeded sample x_1..x_M (ReLU O(n M)). Linear
// networks: closed form in the data moments C, c, E y^2 (O(n)) for both.
class TwoLayerRisk {
public:
    // samples == 0: population risk; otherwise the empirical risk on `samples` draws with `seed`.
    TwoLayerRisk(Activation act, Teacher teacher, long samples = 0, std::uint64_t seed = 0);

    // F(mu) of (20)/(21) and, when grad is not null, grad[i*(1+d) ..] = grad_theta (dF/dmu)(theta_i) (so that
    // dF/dtheta_i = p_i grad_i; -grad_i is the particle velocity of the gradient flow (15) of F, science.md §5).
    // Parallel over neurons with up to `threads` threads (0 = all).
    double evaluate(const double* theta, const double* p, std::size_t n, double* grad, int threads) const;

    // Data moments C = E[x x^T], c = E[x y]: population I and E[x y] (beta* = (1/k) sum a*_j w*_j for
    // a linear teacher); empirical: the sample's. A linear network has F = 1/2 b^T C b - b^T c + 1/2 E y^2.
    const Eigen::MatrixXd& C() const { return C_; }
    const Eigen::VectorXd& c() const { return c_; }
    int dim() const { return teacher_.dim; }
    Activation activation() const { return act_; }
    const Teacher& teacher() const { return teacher_; }
    bool empirical() const { return !y_.empty(); }

private:
    double populationRelu(const double* theta, const double* p, std::size_t n, double* grad, int threads) const;
    double linearRisk(const double* theta, const double* p, std::size_t n, double* grad) const;
    double empiricalRisk(const double* theta, const double* p, std::size_t n, double* grad, int threads) const;

    Activation act_;
    Teacher teacher_;
    std::vector<double> x_, y_;  // empirical sample (M * d) and labels (M)
    Eigen::MatrixXd C_;
    Eigen::VectorXd c_;
    double yy_ = 0;  // E y^2
};

// The Gaussian closure of a linear network (science.md §5, Prop. 6.2, (23)): theta' = -G theta with
// G = [[0, g^T], [g, 0]] (blocks a, w), g = C beta - c, beta = E[a w] = S_aw + m_a m_w, so
// dm/dt = -G m and dS/dt = -(G S + S G). One classical RK4 step of size h.
void linearClosureStep(Eigen::VectorXd& m, Eigen::MatrixXd& S, const Eigen::MatrixXd& C, const Eigen::VectorXd& c, double h);

}  // namespace tl::nn
