// Primal network simplex for the dense transportation problem (science.md §3, Kantorovich (10)):
//
//     min sum_ij c_ij x_ij   s.t.   sum_j x_ij = s_i,  sum_i x_ij = d_j,  x >= 0,
//
// on the IMPLICIT complete bipartite graph: arc (i, j) is never stored, its cost is c[i * m + j]
// of a dense row-major array. The basis is a spanning tree of the n + m nodes (parent, thread,
// reverse thread, subtree size, last successor: the tree update is the one of LEMON's
// NetworkSimplex), rooted at a real node; the flow of a tree arc is kept at its child node.
//
// Exactness: costs are doubles holding integers, supplies are int64. With
// (n + m) * max|c| < 2^51 every potential (a sum of at most n + m costs along a tree path) and
// every reduced cost c_ij - u_i - v_j is an integer below 2^53, computed exactly; no tolerance
// is needed and ties are exact ties.
//
// Degeneracy: the initial tree is strongly feasible (every tree arc that points away from the
// root, i.e. source parent -> sink child, carries positive flow) and the leaving arc is chosen by
// Cunningham's rule (the last blocking arc met when the cycle is traversed from its apex in the
// direction of the entering arc), which keeps the tree strongly feasible; then every degenerate
// pivot moves the sum of the node potentials strictly in one direction, so no basis repeats and
// the method cannot cycle (Cunningham 1976; Ahuja, Magnanti & Orlin, Network Flows, §11.6).
//
// Pivoting: block search as in LEMON / POT (blocks of sqrt(n m) arcs in row-major order, from
// where the previous search stopped; the most negative reduced cost of the first block holding
// one enters). On squared Euclidean costs the block search first runs on an approximation of
// the reduced costs, W_i - W_{n+j} - 2 x_i.y_j with W = potential +- |point|^2 (2-3 FMAs per arc),
// whose error is below a bound E computed from the magnitudes: an arc enters only if its
// approximate reduced cost is < -E (so its exact one is < 0, which is re-checked). When no arc
// passes, exact pricing takes over until optimality, so the certificate is exact as before.
// Initial basis: greedy least-cost allocation on per-row shortlists, completed to a strongly
// feasible spanning tree by zero-flow arcs (see network_simplex.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace tl {

struct TransportArc {
    std::uint32_t i, j;  // source row, target column
    std::int64_t flow;   // >= 0 (basic arcs may carry 0: degenerate)
};

struct TransportSimplexResult {
    enum class Status { Optimal, Cancelled, Infeasible };
    Status status = Status::Infeasible;
    std::vector<TransportArc> basis;  // the n + m - 1 arcs of the final spanning tree
    std::vector<double> u, v;         // potentials: c_ij - u_i - v_j >= 0, = 0 on the basis
    std::int64_t pivots = 0;          // simplex pivots after the initial basis
    std::size_t initialArcs = 0;      // positive arcs of the greedy initial solution
    std::int64_t exactPivots = 0;     // pivots entered by exact pricing (after the approximate phase)
    std::size_t maxWorkBetweenPolls = 0;  // largest work (units as pollWork) between two polls
};

// Where a running simplex is (for a progress bar): the initial basis, pivoting (with approximate
// pricing where enabled), or certifying (the final pivots with exact pricing after approximate
// pricing ran out); pivots so far.
struct SimplexProgress {
    enum class Phase { InitialBasis, Pivoting, Certifying };
    Phase phase = Phase::InitialBasis;
    std::int64_t pivots = 0;
};

struct TransportSimplexOptions {
    double blockSizeFactor = 1.0;     // pivot block = factor * sqrt(n * m) arcs (>= 16)
    // Polled from the calling thread after every `pollWork` units of work (one unit = one arc
    // priced or one tree node visited; 2^20 units are well under a millisecond), during the
    // initial basis, inside long pricing scans and between pivots; true stops (status Cancelled).
    std::function<bool()> cancelled;
    std::size_t pollWork = std::size_t(1) << 20;
    // Squared Euclidean entry point only: price with a cheap approximation of the reduced costs
    // (expanded form, FMA) and a proven error bound, then finish with exact pricing; false prices
    // exactly throughout (same pivots as the dense entry point).
    bool approximatePricing = true;
    int threads = 1;                  // initial basis and full pricing scans (0 = all cores); same results
    // Called from the calling thread at the polls, at most every `progressInterval` seconds (0: at every
    // poll). Never changes the pivots.
    std::function<void(const SimplexProgress&)> progress;
    double progressInterval = 0.1;
};

// n >= 1 sources with supplies s_i > 0, m >= 1 targets with demands d_j > 0, sum s = sum d
// (otherwise status Infeasible). cost: n * m row-major doubles, integer-valued, with
// (n + m + 1) * max|c| < 2^51 (checked: throws tl::Error).
TransportSimplexResult transportSimplex(std::size_t n, std::size_t m, const double* cost, const std::int64_t* supply,
                                        const std::int64_t* demand, const TransportSimplexOptions& opt = {});

// The same on squared Euclidean costs computed on the fly, never stored:
//     c_ij = roundedSqEuclidean(x_i, y_j) = round(|s x_i - s y_j|^2),   s = scale,
// x: n x dim and y: m x dim row-major, dim in 1..3, scale a power of two (so s x is exact and c_ij
// is s^2 |x_i - y_j|^2 to the double rounding, then rounded to an integer). Every evaluation, SIMD
// or scalar, performs the same IEEE operations in the same order, so c_ij is one well-defined
// integer. Requires (n + m + 1) * s^2 * (squared diameter of all points) < 2^51 (checked).
TransportSimplexResult transportSimplexSqEuclidean(std::size_t n, std::size_t m, int dim, const double* x, const double* y,
                                                   double scale, const std::int64_t* supply, const std::int64_t* demand,
                                                   const TransportSimplexOptions& opt = {});
// c_ij of transportSimplexSqEuclidean for the points xi, yj (dim coordinates each).
double roundedSqEuclidean(const double* xi, const double* yj, int dim, double scale);

}  // namespace tl
