// MlpField: a learned flow-matching velocity field v_theta(t, x), a small MLP trained in-process with Adam.
// Implements science.md §2 (survey §3): interpolant x_t = (1-t) x0 + t x1, loss (8) E_{t,x0,x1} |v_theta(t, x_t) - (x1 - x0)|^2,
// t ~ U[0,1].
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <vector>

#include "measure/point_cloud.h"

namespace tl {

namespace detail {
struct MlpLayerShape {
    int in = 0, out = 0;
    Eigen::Index offset = 0;  // of W (out x in, column-major) in the parameter vector; b (out) follows
};
}  // namespace detail

struct MlpFieldOptions {
    enum class Coupling {
        Independent,  // (x0, x1) ~ rho0 (x) rho1: each minibatch pairs independent draws
        MinibatchOt,  // each minibatch of B draws per side is paired by the exact OT permutation (solveExact on
                      // an integer grid copy); costs O(B^2) per step: ~2 ms at B = 128, ~10 ms at B = 256 (2-D)
    };
    int hidden = 64;                       // width of every hidden layer (1..4096)
    int layers = 3;                        // number of hidden layers (1..16); SiLU activations, linear output
    int iterations = 3000;                 // Adam steps (>= 1)
    int batch = 256;                       // samples per step (1..65536; MinibatchOt: 1..4096, exact OT is O(B^2) memory)
    double learningRate = 2e-3;            // Adam step size (> 0); beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    double finalLearningRateFactor = 0.1;  // cosine decay of the step size to learningRate * this (0 < f <= 1; 1 = constant)
    Coupling coupling = Coupling::Independent;
    std::uint64_t seed = 0;  // initial weights, minibatch draws, t draws (tl::Rng)
    int threads = 0;         // threads for the forward/backward pass and the OT cost matrix (0 = all)
};

// v_theta(t, x): R x R^d -> R^d, d in 1..3. Inputs are [ (x - c)/s, t, sin(2 pi k t), cos(2 pi k t) (k = 1..4) ],
// output is s * (last layer), where c and s (centre, isotropic scale) are taken from the training clouds, so the
// network works in unit-scale coordinates whatever the data units. Training passes and velocity() run in single
// precision (twice the SIMD width of double; rounding ~1e-7 relative, far below the SGD noise), with double master
// weights and Adam state; lossAndGradient() runs the same code in double. Results are deterministic for a given
// seed, independent of the thread count (gradients are summed over fixed 64-sample chunks in a fixed order).
class MlpField {
public:
    // Trains on loss (8) (science.md §2) from scratch (re-initialising the weights from opt.seed). x0 is drawn
    // from `source`, x1 from `target`, each by its weights. progress(i, loss) is called after step i (1-based) with that step's
    // minibatch loss; returning false stops training there, keeping the current weights. Throws tl::Error on
    // bad clouds (validate(), dimension mismatch) or options (naming the option), and if the loss becomes
    // non-finite (diverged: lower the learning rate).
    void train(const PointCloud& source, const PointCloud& target, const MlpFieldOptions& opt,
               const std::function<bool(int iteration, double loss)>& progress = {});

    // v_theta(t, x_i) for the rows x_i of x (n x d), as an n x d matrix. Batched (matrix products over chunks of
    // rows); `threads` = 1 runs on the caller's thread (safe inside a parallelFor body), 0 = all hardware threads.
    // Throws tl::Error if the field is not initialised or x has the wrong number of columns.
    Eigen::MatrixXd velocity(double t, const Eigen::MatrixXd& x, int threads = 1) const;

    int dim() const { return dim_; }
    // Mean minibatch loss over the last max(1, min(200, steps / 10)) steps (in data units); 0 before training.
    double lastLoss() const;
    // True once at least one training step has been taken.
    bool trained() const { return steps_ > 0; }
    // Steps taken by the last train() (< opt.iterations when cancelled).
    int iterationsDone() const { return steps_; }
    // Minibatch loss of every step of the last train().
    const std::vector<double>& lossHistory() const { return history_; }

    // --- Lower level: used by train(), exposed for tests (gradient check) and tools. ---
    // Sets up the architecture for dimension `dim` with random weights from opt.seed (Xavier-normal weights, zero
    // biases), centre 0 and scale 1; clears the training state. Validates dim and the architecture options.
    void initialize(int dim, const MlpFieldOptions& opt);
    // All weights and biases, layer by layer (W column-major, then b).
    const Eigen::VectorXd& parameters() const { return theta_; }
    void setParameters(const Eigen::VectorXd& theta);
    int parameterCount() const { return static_cast<int>(theta_.size()); }
    // Loss (8) (science.md §2) on a fixed batch: (1/B) sum_i |v_theta(t_i, (1-t_i) x0_i + t_i x1_i) - (x1_i - x0_i)|^2,
    // with t (B), x0, x1 (B x d), in double precision. If grad is non-null it receives d loss / d parameters (backprop).
    double lossAndGradient(const Eigen::VectorXd& t, const Eigen::MatrixXd& x0, const Eigen::MatrixXd& x1, Eigen::VectorXd* grad,
                           int threads = 1) const;

    static constexpr int kFourierFrequencies = 4;

private:
    // Loss on inputs already normalised (xt, u: d x B, unit-scale coordinates), computed in precision S
    // (training runs in float, lossAndGradient in double; the same template code).
    template <typename S>
    double normalizedLossAndGradient(const Eigen::VectorXd& t, const Eigen::MatrixXd& xt, const Eigen::MatrixXd& u,
                                     Eigen::VectorXd* grad, int threads) const;
    void requireInitialized() const;

    int dim_ = 0;
    std::vector<detail::MlpLayerShape> layers_;
    Eigen::VectorXd theta_;
    Eigen::VectorXd center_;
    double scale_ = 1;
    int steps_ = 0;
    std::vector<double> history_;
};

}  // namespace tl
