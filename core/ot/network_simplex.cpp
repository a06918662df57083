#include "ot/network_simplex.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "ot/simplex_kernels.h"
#include "util/error.h"
#include "util/parallel.h"
#include "util/simd.h"

namespace tl {

namespace {

using simplex_kernels::kRound;
using simplex_kernels::kTileRows;

// ---- Cost models. Each gives c_ij (at), a row of costs (row), and min_j (c_ij - p_j) over a
// column range (minReduced); all three return bit-identical values for the same (i, j), on every
// SIMD target (simplex_kernels.h: the kernels are Highway's, dispatched at run time). ----

struct DenseCost {
    static constexpr bool kApprox = false;
    const double* C;
    std::size_t m;
    double at(std::size_t i, std::size_t j) const { return C[i * m + j]; }
    const double* row(std::size_t i, double* /*buf*/) const { return C + i * m; }
    double minReduced(std::size_t i, std::size_t j0, std::size_t j1, const double* p, double thr, std::size_t* arg) const {
        return simplex_kernels::minReducedDense(C + i * m, p, j0, j1, thr, arg);
    }
};

// ---- Approximate reduced costs for pricing (squared Euclidean costs only). With centred points
// x^ = x - c, y^ = y - c and W_v = pi_v + |x^_v|^2 (source) or pi_v - |y^_v|^2 (target), the
// reduced cost c_ij + pi_i - pi_{n+j} is approximately W_i - t_ij with (W evaluated from pi when read)
//     t_ij = W_{n+j} + sum_k (2 x^_ik) y^_jk     (D multiply-adds, in this order),
// so the most negative one of a row piece is W_i - max_j t_ij (simplex_kernels::maxTile over tiles
// of kTileRows rows, argT for the column). ----

template <int D>
struct PointCost {
    static constexpr bool kApprox = true;
    const double* xs;  // n x D, scaled, row-major
    const double* ys;  // D x m, scaled, one row per coordinate
    std::size_t m;
    // Approximate pricing data: 2 x^_i (n x D), y^ (D x m), the signed squared norms sq (n + m:
    // +|x^_i|^2, then -|y^_j|^2) and the error bound of W_i - t_ij against the exact reduced cost.
    std::size_t nRows;
    std::vector<double> xa, yh, sq;
    double errorBound = 0;

    PointCost(std::size_t n, const double* x, const double* y, std::size_t mm, const double* centre, double diam2)
        : xs(x), ys(y), m(mm), nRows(n) {
        simd::configure();
        xa.resize((n + kTileRows) * D);  // + padding rows (copies of the last row) for the last tile
        yh.resize(D * m);
        sq.assign(n + m, 0.0);
        double maxAbs = 0, maxSqX = 0, maxSqY = 0;
        for (std::size_t i = 0; i < n; ++i) {
            double s = 0;
            for (int k = 0; k < D; ++k) {
                const double v = xs[i * D + k] - centre[k];
                maxAbs = std::max(maxAbs, std::abs(xs[i * D + k]));
                xa[i * D + k] = 2 * v;
                s += v * v;
            }
            sq[i] = s;
            maxSqX = std::max(maxSqX, s);
        }
        for (std::size_t j = 0; j < m; ++j) {
            double s = 0;
            for (int k = 0; k < D; ++k) {
                const double v = ys[k * m + j] - centre[k];
                maxAbs = std::max(maxAbs, std::abs(ys[k * m + j]));
                yh[k * m + j] = v;
                s += v * v;
            }
            sq[n + j] = -s;
            maxSqY = std::max(maxSqY, s);
        }
        for (std::size_t i = n; i < n + kTileRows; ++i)
            for (int k = 0; k < D; ++k) xa[i * D + k] = xa[(n - 1) * D + k];
        for (int k = 0; k < D; ++k) maxAbs = std::max(maxAbs, std::abs(centre[k]));
        // Error bound, in cost units (u = 2^-53, every rounding <= u |result|):
        //  - exact cost: c_ij = round(fl(|x - y|^2)) is within 1/2 + (2D + 2) u diam2 of |x - y|^2;
        //  - centring: x^ = fl(x - c) is off by <= 2u maxAbs per coordinate, which moves
        //    |x^ - y^|^2 by <= 2 sqrt(diam2) eta + eta^2, eta = 4u maxAbs sqrt(D);
        //  - evaluation: the squared norms (2D roundings of <= maxSq each), W (one rounding of
        //    <= Mag), the D multiply-adds (<= Mag each when fused; 2 Mag where the target has no FMA
        //    and MulAdd rounds the product too: SSE4, SSSE3, EMU128) and W_i - t (<= 2 Mag), where
        //    Mag = |pi| + maxSq + 2 |x^| |y^| bounds every intermediate; |pi| <= (n + m) (diam2 + 1).
        // W = fl(pi + sq) is evaluated from the exact pi whenever it is read, so the errors never
        // accumulate over pivots.
        constexpr double u = 0x1p-53;
        const double maxSq = std::max(maxSqX, maxSqY);
        const double pmax = static_cast<double>(n + m) * (diam2 * (1 + 1e-12) + 1);
        const double mag = (pmax + maxSq + 2 * std::sqrt(maxSqX * maxSqY)) * (1 + 1e-12);
        const double eta = 4 * u * maxAbs * std::sqrt(static_cast<double>(D));
        const double err = 0.5 + (2 * D + 2) * u * diam2 + 2 * std::sqrt(diam2) * eta + eta * eta + 4 * D * u * maxSq +
                           (2 * D + 4) * u * mag;
        errorBound = 2 * err + 1;  // a factor of 2 of slack on the analysis above
    }
    double at(std::size_t i, std::size_t j) const { return simplex_kernels::sqCost<D>(xs + i * D, ys, m, j); }
    const double* row(std::size_t i, double* buf) const {
        simplex_kernels::costRow(D, xs + i * D, ys, m, buf);
        return buf;
    }
    double minReduced(std::size_t i, std::size_t j0, std::size_t j1, const double* p, double thr, std::size_t* arg) const {
        return simplex_kernels::minReducedPoints(D, xs + i * D, ys, m, p, j0, j1, thr, arg);
    }
    // out[r] = max_j t_{i0 + r, j}, r < kTileRows (rows past n repeat the last one).
    void approxTile(std::size_t i0, std::size_t j0, std::size_t j1, const double* piT, double* out) const {
        simplex_kernels::maxTile(D, xa.data() + i0 * D, yh.data(), m, piT, sq.data() + nRows, j0, j1, out);
    }
    std::size_t approxArg(std::size_t i, std::size_t j0, std::size_t j1, const double* piT, double target) const {
        return simplex_kernels::argT(D, xa.data() + i * D, yh.data(), m, piT, sq.data() + nRows, j0, j1, target);
    }
};

// Node ids: sources 0 .. n-1, targets n .. n+m-1. The tree arc of a non-root node v joins v and
// parent[v]; a source's arc points to its parent (towards the root, "up"), a target's arc comes
// from its parent ("down"): the direction is fixed by the node type since the graph is bipartite.
template <class Cost>
class Simplex {
public:
    Simplex(std::size_t n, std::size_t m, const Cost& c, const TransportSimplexOptions& opt)
        : n_(static_cast<int>(n)), m_(static_cast<int>(m)), N_(static_cast<int>(n + m)), C_(c), opt_(opt),
          // Threads only pay off on large problems (the pool's hand-off costs ~10-50 us).
          threads_(static_cast<double>(n) * static_cast<double>(m) >= 0x1p22 ? resolveThreads(opt.threads) : 1) {
        if constexpr (Cost::kApprox) approx_ = opt.approximatePricing;
    }

    // Greedy least-cost start on per-row shortlists, then row minima for what is left.
    // false: cancelled.
    bool initialBasis(const std::int64_t* supply, const std::int64_t* demand);
    TransportSimplexResult::Status run(std::int64_t& pivots);
    void extract(TransportSimplexResult& r) const;
    std::size_t initialArcs() const { return initialArcs_; }
    std::int64_t exactPivots() const { return exactPivots_; }
    std::size_t maxWorkBetweenPolls() const { return std::max(maxWork_, work_); }

private:
    enum class Found { Arc, None, Cancelled };
    static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
    struct Cand {
        double val;
        std::size_t pos;  // linear arc index i * m + j, kNone if nothing below the threshold
    };

    double cost(int i, int j) const { return C_.at(static_cast<std::size_t>(i), static_cast<std::size_t>(j)); }
    bool isSource(int v) const { return v < n_; }
    // +1: arc v -> parent (v is a source); -1: arc parent -> v (v is a target).
    int dir(int v) const { return v < n_ ? 1 : -1; }
    // Counts work; every opt_.pollWork units asks opt_.cancelled (calling thread only).
    bool poll(std::size_t work) {
        work_ += work;
        if (work_ >= opt_.pollWork) {
            maxWork_ = std::max(maxWork_, work_);
            work_ = 0;
            if (opt_.cancelled && opt_.cancelled()) cancelled_ = true;
            if (opt_.progress) report();
        }
        return cancelled_;
    }
    // Hands the phase and the pivots so far to opt_.progress (throttled to opt_.progressInterval).
    void report() {
        const auto now = std::chrono::steady_clock::now();
        if (reported_ && std::chrono::duration<double>(now - lastReport_).count() < opt_.progressInterval) return;
        reported_ = true;
        lastReport_ = now;
        SimplexProgress p;
        p.phase = !started_                  ? SimplexProgress::Phase::InitialBasis
                  : (approxAtStart_ && !approx_) ? SimplexProgress::Phase::Certifying
                                                 : SimplexProgress::Phase::Pivoting;
        p.pivots = pivots_;
        opt_.progress(p);
    }

    Cand scanRange(std::size_t start, std::size_t len, double thr) const;
    Cand scanTiles(std::size_t start, std::size_t count) const;
    Found findEnteringArc(bool approx);
    void findJoinNode();
    void findLeavingArc();
    void changeFlow();
    void updateTreeStructure();
    void updatePotential();

    const int n_, m_, N_;
    const Cost& C_;
    const TransportSimplexOptions& opt_;
    const int threads_;
    std::size_t initialArcs_ = 0;
    std::size_t work_ = 0, maxWork_ = 0;
    bool cancelled_ = false;
    bool approx_ = false;
    std::int64_t exactPivots_ = 0;
    // Progress reports: pivoting started, pivots so far, when the last report went out.
    bool started_ = false, reported_ = false, approxAtStart_ = false;
    std::int64_t pivots_ = 0;
    std::chrono::steady_clock::time_point lastReport_{};

    std::vector<int> parent_, thread_, revThread_, succNum_, lastSucc_, dirtyRevs_;
    std::vector<std::int64_t> flow_;  // flow on the tree arc between v and parent_[v]
    // Potentials, LEMON's sign: the reduced cost of (i, j) is c_ij + pi_i - pi_{n+j}, i.e.
    // u_i = -pi_i, v_j = pi_{n+j}. Integer-valued doubles.
    std::vector<double> pi_;

    // Pivot state.
    std::size_t block_ = 0, next_ = 0;
    std::size_t tileWidth_ = 8, nSeg_ = 1, nTiles_ = 1, nextTile_ = 0;  // approximate pricing tiles
    int inI_ = -1, inJ_ = -1;  // entering arc (source row, target column)
    int join_ = -1, uIn_ = -1, vIn_ = -1, uOut_ = -1;
    std::int64_t delta_ = 0;
};

template <class Cost>
bool Simplex<Cost>::initialBasis(const std::int64_t* supply, const std::int64_t* demand) {
    const std::size_t n = n_, m = m_;
    std::vector<std::int64_t> rs(supply, supply + n), rd(demand, demand + m);
    struct Alloc {
        int i, j;
        std::int64_t f;
    };
    std::vector<Alloc> alloc;
    alloc.reserve(n + m);
    auto give = [&](int i, int j) {
        const std::int64_t f = std::min(rs[i], rd[j]);
        if (f <= 0) return;
        rs[i] -= f;
        rd[j] -= f;
        alloc.push_back({i, j, f});
    };
    // Rows in batches of about pollWork arcs, each batch parallel over rows (results per row, so
    // independent of the thread count), a poll between batches.
    const std::size_t batchRows = std::max<std::size_t>(1, opt_.pollWork / std::max<std::size_t>(1, m));
    auto forRows = [&](std::size_t count, const std::function<void(std::size_t, std::size_t, std::vector<double>&)>& body) {
        for (std::size_t b0 = 0; b0 < count; b0 += batchRows) {
            const std::size_t b1 = std::min(count, b0 + batchRows);
            parallelFor(b1 - b0, std::max<std::size_t>(1, (b1 - b0) / (4 * static_cast<std::size_t>(threads_))), threads_,
                        [&](std::size_t r0, std::size_t r1) {
                            std::vector<double> buf(m);
                            body(b0 + r0, b0 + r1, buf);
                        });
            if (poll((b1 - b0) * m)) return false;
        }
        return true;
    };
    // Shortlists: the k cheapest targets of each row, then all of them in increasing cost
    // (least-cost / matrix-minimum rule restricted to the shortlists). Every allocation exhausts
    // its row or its column and exhausted lines get nothing more, so the support is a forest.
    const std::size_t k = std::min<std::size_t>(m, 8);
    struct Cand2 {
        double c;
        int i, j;
    };
    std::vector<Cand2> cand(n * k);
    std::vector<unsigned char> candLen(n, 0);
    if (!forRows(n, [&](std::size_t i0, std::size_t i1, std::vector<double>& rowBuf) {
            for (std::size_t i = i0; i < i1; ++i) {
                const double* row = C_.row(i, rowBuf.data());
                Cand2* buf = cand.data() + i * k;
                std::size_t len = 0;
                double thr = std::numeric_limits<double>::infinity();
                for (std::size_t j = 0; j < m; ++j) {
                    const double c = row[j];
                    if (c >= thr) continue;
                    std::size_t p = len < k ? len++ : k - 1;
                    while (p > 0 && buf[p - 1].c > c) {
                        buf[p] = buf[p - 1];
                        --p;
                    }
                    buf[p] = {c, static_cast<int>(i), static_cast<int>(j)};
                    if (len == k) thr = buf[k - 1].c;
                }
                candLen[i] = static_cast<unsigned char>(len);
            }
        }))
        return false;
    {
        std::size_t w = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t q = 0; q < candLen[i]; ++q) cand[w++] = cand[i * k + q];
        cand.resize(w);
    }
    std::sort(cand.begin(), cand.end(),
              [](const Cand2& a, const Cand2& b) { return a.c != b.c ? a.c < b.c : (a.i != b.i ? a.i < b.i : a.j < b.j); });
    for (const Cand2& e : cand) give(e.i, e.j);
    {
        std::vector<double> rowBuf(m);
        for (std::size_t i = 0; i < n; ++i) {
            if (rs[i] <= 0) continue;
            const double* row = C_.row(i, rowBuf.data());
            while (rs[i] > 0) {
                int best = -1;
                double bc = std::numeric_limits<double>::infinity();
                for (std::size_t j = 0; j < m; ++j)
                    if (rd[j] > 0 && row[j] < bc) bc = row[j], best = static_cast<int>(j);
                if (best < 0) break;  // cannot happen when the sums agree
                give(static_cast<int>(i), best);
                if (poll(m)) return false;
            }
        }
    }
    initialArcs_ = alloc.size();

    // Components of the forest (each holds a source and a target: supplies and demands are
    // positive). Each is rooted at its first source; component c > 0 hangs from the cheapest
    // target of an earlier component by a zero-flow arc source -> target, which points towards
    // the root: the tree is strongly feasible (zero flow only on arcs pointing up).
    std::vector<int> deg(N_ + 1, 0);
    for (const Alloc& a : alloc) ++deg[a.i], ++deg[n_ + a.j];
    std::vector<int> start(N_ + 1, 0);
    for (int v = 0; v < N_; ++v) start[v + 1] = start[v] + deg[v];
    struct Edge {
        int to;
        std::int64_t f;
    };
    std::vector<Edge> adj(start[N_]);
    {
        std::vector<int> pos(start.begin(), start.end() - 1);
        for (const Alloc& a : alloc) {
            adj[pos[a.i]++] = {n_ + a.j, a.f};
            adj[pos[n_ + a.j]++] = {a.i, a.f};
        }
    }
    std::vector<int> comp(N_, -1), compRoot;
    std::vector<int> stack;
    for (int s = 0; s < n_; ++s) {
        if (comp[s] >= 0) continue;
        const int c = static_cast<int>(compRoot.size());
        compRoot.push_back(s);
        comp[s] = c;
        stack.push_back(s);
        while (!stack.empty()) {
            const int v = stack.back();
            stack.pop_back();
            for (int e = start[v]; e < start[v + 1]; ++e)
                if (comp[adj[e].to] < 0) comp[adj[e].to] = c, stack.push_back(adj[e].to);
        }
    }
    // Hang arcs (source root of component c, target of an earlier component), parallel over c.
    std::vector<int> hangTo(compRoot.size(), -1);
    if (compRoot.size() > 1 && !forRows(compRoot.size() - 1, [&](std::size_t c0, std::size_t c1, std::vector<double>& rowBuf) {
            for (std::size_t c = c0 + 1; c < c1 + 1; ++c) {
                const double* row = C_.row(static_cast<std::size_t>(compRoot[c]), rowBuf.data());
                int best = -1;
                double bc = std::numeric_limits<double>::infinity();
                for (int j = 0; j < m_; ++j)
                    if (comp[n_ + j] < static_cast<int>(c) && row[j] < bc) bc = row[j], best = j;
                hangTo[c] = n_ + best;
            }
        }))
        return false;
    // Children lists: forest edges plus hang edges; DFS from the root (source of component 0).
    std::vector<std::vector<int>> hangChildren;  // few in general; kept apart from the CSR
    hangChildren.resize(N_);
    for (std::size_t c = 1; c < compRoot.size(); ++c) hangChildren[hangTo[c]].push_back(compRoot[c]);

    parent_.assign(N_, -1);
    thread_.assign(N_, 0);
    revThread_.assign(N_, 0);
    succNum_.assign(N_, 1);
    lastSucc_.assign(N_, 0);
    flow_.assign(N_, 0);
    pi_.assign(N_, 0.0);
    std::vector<int> order;
    order.reserve(N_);
    const int root = compRoot[0];
    std::vector<char> seen(N_, 0);
    stack.push_back(root);
    seen[root] = 1;
    while (!stack.empty()) {
        const int v = stack.back();
        stack.pop_back();
        order.push_back(v);
        auto visit = [&](int w, std::int64_t f) {
            if (seen[w]) return;
            seen[w] = 1;
            parent_[w] = v;
            flow_[w] = f;
            // Tight tree arc: c + pi_source - pi_target = 0.
            pi_[w] = isSource(w) ? pi_[v] - cost(w, v - n_) : pi_[v] + cost(v, w - n_);
            stack.push_back(w);
        };
        for (int e = start[v]; e < start[v + 1]; ++e) visit(adj[e].to, adj[e].f);
        for (int w : hangChildren[v]) visit(w, 0);
    }
    if (static_cast<int>(order.size()) != N_) throw Error("network simplex: initial basis is not spanning");
    std::vector<int> pos(N_);
    for (int k2 = 0; k2 < N_; ++k2) pos[order[k2]] = k2;
    for (int k2 = N_ - 1; k2 > 0; --k2) succNum_[parent_[order[k2]]] += succNum_[order[k2]];
    for (int k2 = 0; k2 < N_; ++k2) {
        const int v = order[k2];
        thread_[v] = order[(k2 + 1) % N_];
        revThread_[order[(k2 + 1) % N_]] = v;
        lastSucc_[v] = order[pos[v] + succNum_[v] - 1];
    }
    const double arcs = static_cast<double>(n) * static_cast<double>(m);
    block_ = std::max<std::size_t>(16, static_cast<std::size_t>(opt_.blockSizeFactor * std::sqrt(arcs)));
    next_ = nextTile_ = 0;
    // Approximate pricing: a block is one tile of about block_ arcs (kTileRows rows).
    tileWidth_ = std::min(m, (block_ / kTileRows + 7) / 8 * 8);
    nSeg_ = (m + tileWidth_ - 1) / tileWidth_;
    nTiles_ = (n + kTileRows - 1) / kTileRows * nSeg_;
    return !poll(static_cast<std::size_t>(N_));
}

// The minimum exact reduced cost c_ij + pi_i - pi_{n+j} below thr over the arcs start .. start +
// len - 1 (linear indices i * m + j, cyclic), earliest position on ties. Rows are reduced in
// pieces of kPiece arcs (SIMD minimum); only a piece that improves on the best is scanned again
// for its position. Reads only.
template <class Cost>
typename Simplex<Cost>::Cand Simplex<Cost>::scanRange(std::size_t start, std::size_t len, double thr) const {
    constexpr std::size_t kPiece = 512;
    const std::size_t n = n_, m = m_;
    const double* piT = pi_.data() + n_;
    Cand best{thr, kNone};
    std::size_t i = start / m, j = start % m;
    while (len > 0) {
        const std::size_t e = std::min(m, j + len);
        for (std::size_t a = j; a < e;) {
            const std::size_t b = std::min(e, a + kPiece);
            const double pii = pi_[i];
            std::size_t k = a;
            // Integers below 2^53: best - pii and mn + pii are exact.
            const double mn = C_.minReduced(i, a, b, piT, best.val - pii, &k);
            if (mn + pii < best.val) best = {mn + pii, i * m + k};
            a = b;
        }
        len -= e - j;
        if (e == m) {
            j = 0;
            if (++i == n) i = 0;
        } else {
            j = e;
        }
    }
    return best;
}

// The minimum approximate reduced cost W_i - t_ij below -E over the tiles start .. start + count
// - 1 (cyclic; tile = kTileRows rows x tileWidth_ columns, row groups outer), the first row of
// the first tile on ties; its column is located once, at the end. Reads only.
template <class Cost>
typename Simplex<Cost>::Cand Simplex<Cost>::scanTiles(std::size_t start, std::size_t count) const {
    Cand best{0, kNone};
    if constexpr (Cost::kApprox) {
        const std::size_t m = m_;
        const double* piT = pi_.data() + n_;
        best.val = -C_.errorBound;
        std::size_t bi = 0, ba = 0, bb = 0;
        double bt = 0;
        double out[kTileRows];
        for (std::size_t q = 0, t = start; q < count; ++q, t = t + 1 == nTiles_ ? 0 : t + 1) {
            const std::size_t i0 = (t / nSeg_) * kTileRows, a = (t % nSeg_) * tileWidth_, b = std::min(m, a + tileWidth_);
            C_.approxTile(i0, a, b, piT, out);
            for (int r = 0; r < kTileRows && i0 + r < static_cast<std::size_t>(n_); ++r) {
                const double v = (pi_[i0 + r] + C_.sq[i0 + r]) - out[r];
                if (v < best.val) best.val = v, bi = i0 + r, ba = a, bb = b, bt = out[r], best.pos = 0;
            }
        }
        if (best.pos != kNone) best.pos = bi * m + C_.approxArg(bi, ba, bb, piT, bt);
    }
    return best;
}

// Block search (LEMON's rule): scan the arcs in row-major order from where the last search
// stopped, in blocks of block_ arcs; after each block, enter the most negative reduced cost
// seen if it is < 0 (approximate: < -E). Tree arcs have reduced cost exactly 0 (approximate:
// within E of 0) and are never chosen. After a few blocks without a candidate (near the end),
// batches of blocks are scanned in parallel and the first block of the batch that has one wins,
// so the choice is the sequential one whatever the thread count.
template <class Cost>
typename Simplex<Cost>::Found Simplex<Cost>::findEnteringArc(bool approx) {
    // Units: tiles (approximate) or arcs (exact); a block is one tile or block_ arcs.
    const std::size_t total = approx ? nTiles_ : static_cast<std::size_t>(n_) * static_cast<std::size_t>(m_);
    const std::size_t blk = approx ? 1 : block_;
    const std::size_t unitWork = approx ? kTileRows * tileWidth_ : 1;
    std::size_t& next = approx ? nextTile_ : next_;
    auto scan = [&](std::size_t u0, std::size_t cnt) { return approx ? scanTiles(u0, cnt) : scanRange(u0, cnt, 0.0); };
    auto take = [&](const Cand& c) {
        inI_ = static_cast<int>(c.pos / static_cast<std::size_t>(m_));
        inJ_ = static_cast<int>(c.pos % static_cast<std::size_t>(m_));
    };
    // Parallel batches of about pollWork / 2 arcs (at least two blocks per thread).
    const std::size_t batch =
        std::max<std::size_t>(2 * static_cast<std::size_t>(threads_), opt_.pollWork / 2 / std::max<std::size_t>(1, blk * unitWork));
    std::size_t scanned = 0, pos = next;
    int empty = 0;
    while (scanned < total) {
        if (threads_ > 1 && empty >= 8 && total - scanned >= 2 * blk * static_cast<std::size_t>(threads_)) {
            const std::size_t nb = std::min(batch, (total - scanned) / blk);
            std::vector<Cand> res(nb);
            parallelFor(nb, 1, threads_, [&](std::size_t b0, std::size_t b1) {
                for (std::size_t b = b0; b < b1; ++b) res[b] = scan((pos + b * blk) % total, blk);
            });
            for (std::size_t b = 0; b < nb; ++b)
                if (res[b].pos != kNone) {
                    next = (pos + (b + 1) * blk) % total;
                    take(res[b]);
                    poll(nb * blk * unitWork);
                    return Found::Arc;
                }
            pos = (pos + nb * blk) % total;
            scanned += nb * blk;
            if (poll(nb * blk * unitWork)) return Found::Cancelled;
            continue;
        }
        const std::size_t len = std::min(blk, total - scanned);
        const Cand c = scan(pos, len);
        pos = (pos + len) % total;
        scanned += len;
        if (c.pos != kNone) {
            next = pos;
            take(c);
            poll(len * unitWork);
            return Found::Arc;
        }
        if (poll(len * unitWork)) return Found::Cancelled;
        ++empty;
    }
    next = pos;
    return Found::None;
}

template <class Cost>
void Simplex<Cost>::findJoinNode() {
    int u = inI_, v = n_ + inJ_;
    while (u != v) {
        if (succNum_[u] < succNum_[v])
            u = parent_[u];
        else
            v = parent_[v];
    }
    join_ = u;
}

// Cunningham's rule. The cycle runs join -> ... -> i -> j -> ... -> join. On the i side the
// arcs pointing up (child a source) run against the cycle and can block; on the j side those
// pointing down (child a target). Ties: the first side keeps the arc nearest to i (<), the
// second side overrides with the arc nearest to the join (<=): the last blocking arc met from
// the apex.
template <class Cost>
void Simplex<Cost>::findLeavingArc() {
    const int first = inI_, second = n_ + inJ_;
    std::int64_t delta = std::numeric_limits<std::int64_t>::max();
    int result = 0;
    for (int u = first; u != join_; u = parent_[u])
        if (u < n_ && flow_[u] < delta) delta = flow_[u], uOut_ = u, result = 1;
    for (int u = second; u != join_; u = parent_[u])
        if (u >= n_ && flow_[u] <= delta) delta = flow_[u], uOut_ = u, result = 2;
    delta_ = delta;
    if (result == 1)
        uIn_ = first, vIn_ = second;
    else
        uIn_ = second, vIn_ = first;
}

template <class Cost>
void Simplex<Cost>::changeFlow() {
    if (delta_ == 0) return;
    for (int u = inI_; u != join_; u = parent_[u]) flow_[u] -= dir(u) * delta_;
    for (int u = n_ + inJ_; u != join_; u = parent_[u]) flow_[u] += dir(u) * delta_;
}

// LEMON's NetworkSimplex::updateTreeStructure (thread / reverse thread / last successor /
// subtree size), with the arc of each node implied by (node, parent) and its flow moved along.
template <class Cost>
void Simplex<Cost>::updateTreeStructure() {
    const int oldRevThread = revThread_[uOut_];
    const int oldSuccNum = succNum_[uOut_];
    const int oldLastSucc = lastSucc_[uOut_];
    const int vOut = parent_[uOut_];

    if (uIn_ == uOut_) {
        parent_[uIn_] = vIn_;
        flow_[uIn_] = delta_;
        if (thread_[vIn_] != uOut_) {
            int after = thread_[oldLastSucc];
            thread_[oldRevThread] = after;
            revThread_[after] = oldRevThread;
            after = thread_[vIn_];
            thread_[vIn_] = uOut_;
            revThread_[uOut_] = vIn_;
            thread_[oldLastSucc] = after;
            revThread_[after] = oldLastSucc;
        }
    } else {
        const int threadContinue = oldRevThread == vIn_ ? thread_[oldLastSucc] : thread_[vIn_];
        int stem = uIn_, parStem = vIn_, nextStem;
        int last = lastSucc_[uIn_];
        int before, after = thread_[last];
        thread_[vIn_] = uIn_;
        dirtyRevs_.clear();
        dirtyRevs_.push_back(vIn_);
        while (stem != uOut_) {
            nextStem = parent_[stem];
            thread_[last] = nextStem;
            dirtyRevs_.push_back(last);
            before = revThread_[stem];
            thread_[before] = after;
            revThread_[after] = before;
            parent_[stem] = parStem;
            parStem = stem;
            stem = nextStem;
            last = lastSucc_[stem] == lastSucc_[parStem] ? revThread_[parStem] : lastSucc_[stem];
            after = thread_[last];
        }
        parent_[uOut_] = parStem;
        thread_[last] = threadContinue;
        revThread_[threadContinue] = last;
        lastSucc_[uOut_] = last;
        if (oldRevThread != vIn_) {
            thread_[oldRevThread] = after;
            revThread_[after] = oldRevThread;
        }
        for (int u : dirtyRevs_) revThread_[thread_[u]] = u;
        int tmpSc = 0;
        const int tmpLs = lastSucc_[uOut_];
        for (int u = uOut_, p = parent_[u]; u != uIn_; u = p, p = parent_[u]) {
            flow_[u] = flow_[p];
            tmpSc += succNum_[u] - succNum_[p];
            succNum_[u] = tmpSc;
            lastSucc_[p] = tmpLs;
        }
        flow_[uIn_] = delta_;
        succNum_[uIn_] = oldSuccNum;
    }

    const int upLimitOut = lastSucc_[join_] == vIn_ ? join_ : -1;
    const int lastSuccOut = lastSucc_[uOut_];
    for (int u = vIn_; u != -1 && lastSucc_[u] == vIn_; u = parent_[u]) lastSucc_[u] = lastSuccOut;
    if (join_ != oldRevThread && vIn_ != oldRevThread) {
        for (int u = vOut; u != upLimitOut && lastSucc_[u] == oldLastSucc; u = parent_[u]) lastSucc_[u] = oldRevThread;
    } else if (lastSuccOut != oldLastSucc) {
        for (int u = vOut; u != upLimitOut && lastSucc_[u] == oldLastSucc; u = parent_[u]) lastSucc_[u] = lastSuccOut;
    }
    for (int u = vIn_; u != join_; u = parent_[u]) succNum_[u] += oldSuccNum;
    for (int u = vOut; u != join_; u = parent_[u]) succNum_[u] -= oldSuccNum;
}

// Shift the potentials of the subtree now hanging from the entering arc so that it is tight.
template <class Cost>
void Simplex<Cost>::updatePotential() {
    const double c = cost(inI_, inJ_);
    const double sigma = pi_[vIn_] - pi_[uIn_] - dir(uIn_) * c;
    const int end = thread_[lastSucc_[uIn_]];
    std::size_t visited = 0;
    for (int u = uIn_; u != end; u = thread_[u], ++visited) pi_[u] += sigma;
    poll(visited + 16);
}

template <class Cost>
TransportSimplexResult::Status Simplex<Cost>::run(std::int64_t& pivots) {
    pivots = 0;
    started_ = true;
    approxAtStart_ = approx_;
    while (!cancelled_) {
        Found f = findEnteringArc(approx_);
        if (f == Found::Cancelled) break;
        if (approx_) {
            // An approximate candidate has exact reduced cost < 0 by the error bound; re-checked,
            // and exact pricing takes over if none is left (or, defensively, if the check fails).
            if (f == Found::Arc && !(cost(inI_, inJ_) + pi_[inI_] - pi_[n_ + inJ_] < 0)) f = Found::None;
            if (f == Found::None) {
                approx_ = false;
                continue;
            }
        }
        if (f == Found::None) return TransportSimplexResult::Status::Optimal;
        if (!approx_) ++exactPivots_;
        findJoinNode();
        findLeavingArc();
        changeFlow();
        updateTreeStructure();
        updatePotential();
        pivots_ = ++pivots;
    }
    return TransportSimplexResult::Status::Cancelled;
}

template <class Cost>
void Simplex<Cost>::extract(TransportSimplexResult& r) const {
    r.basis.clear();
    r.basis.reserve(N_ - 1);
    for (int v = 0; v < N_; ++v) {
        const int p = parent_[v];
        if (p < 0) continue;
        if (isSource(v))
            r.basis.push_back({static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(p - n_), flow_[v]});
        else
            r.basis.push_back({static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(v - n_), flow_[v]});
    }
    r.u.resize(n_);
    r.v.resize(m_);
    for (int i = 0; i < n_; ++i) r.u[i] = -pi_[i];
    for (int j = 0; j < m_; ++j) r.v[j] = pi_[n_ + j];
}

// Checks the common preconditions; false: infeasible data.
bool checkSupplies(std::size_t n, std::size_t m, const std::int64_t* supply, const std::int64_t* demand) {
    if (n == 0 || m == 0) return false;
    if (n + m >= static_cast<std::size_t>(std::numeric_limits<int>::max() / 2)) throw Error("network simplex: too many nodes");
    std::int64_t ss = 0, sd = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (supply[i] <= 0) return false;
        ss += supply[i];
    }
    for (std::size_t j = 0; j < m; ++j) {
        if (demand[j] <= 0) return false;
        sd += demand[j];
    }
    return ss == sd;
}

template <class Cost>
TransportSimplexResult runSimplex(std::size_t n, std::size_t m, const Cost& cost, const std::int64_t* supply,
                                  const std::int64_t* demand, const TransportSimplexOptions& opt) {
    TransportSimplexResult r;
    Simplex<Cost> s(n, m, cost, opt);
    if (opt.cancelled && opt.cancelled()) {
        r.status = TransportSimplexResult::Status::Cancelled;
        return r;
    }
    if (!s.initialBasis(supply, demand)) {
        r.status = TransportSimplexResult::Status::Cancelled;
        return r;
    }
    r.initialArcs = s.initialArcs();
    r.status = s.run(r.pivots);
    r.exactPivots = s.exactPivots();
    r.maxWorkBetweenPolls = s.maxWorkBetweenPolls();
    if (r.status == TransportSimplexResult::Status::Optimal) s.extract(r);
    return r;
}

}  // namespace

TransportSimplexResult transportSimplex(std::size_t n, std::size_t m, const double* cost, const std::int64_t* supply,
                                        const std::int64_t* demand, const TransportSimplexOptions& opt) {
    if (!checkSupplies(n, m, supply, demand)) return {};
    double cmax = 0;
    for (std::size_t k = 0, nm = n * m; k < nm; ++k) cmax = std::max(cmax, std::abs(cost[k]));
    if (!(cmax * static_cast<double>(n + m + 1) < 0x1p51)) throw Error("network simplex: costs too large for exact potentials");
    return runSimplex(n, m, DenseCost{cost, m}, supply, demand, opt);
}

double roundedSqEuclidean(const double* xi, const double* yj, int dim, double scale) {
    double xs[3], ys[3];
    for (int k = 0; k < dim; ++k) xs[k] = xi[k] * scale, ys[k] = yj[k] * scale;
    switch (dim) {
        case 1:
            return simplex_kernels::sqCost<1>(xs, ys, 1, 0);
        case 2:
            return simplex_kernels::sqCost<2>(xs, ys, 1, 0);
        case 3:
            return simplex_kernels::sqCost<3>(xs, ys, 1, 0);
    }
    throw Error("network simplex: dimension must be 1, 2 or 3");
}

TransportSimplexResult transportSimplexSqEuclidean(std::size_t n, std::size_t m, int dim, const double* x, const double* y,
                                                   double scale, const std::int64_t* supply, const std::int64_t* demand,
                                                   const TransportSimplexOptions& opt) {
    if (dim < 1 || dim > 3) throw Error("network simplex: dimension must be 1, 2 or 3");
    if (!checkSupplies(n, m, supply, demand)) return {};
    const std::size_t d = static_cast<std::size_t>(dim);
    std::vector<double> xs(n * d), ys(d * m);
    double diam2 = 0, centre[3] = {0, 0, 0};
    for (std::size_t k = 0; k < d; ++k) {
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (std::size_t i = 0; i < n; ++i) {
            const double v = x[i * d + k] * scale;
            xs[i * d + k] = v;
            lo = std::min(lo, v), hi = std::max(hi, v);
        }
        for (std::size_t j = 0; j < m; ++j) {
            const double v = y[j * d + k] * scale;
            ys[k * m + j] = v;
            lo = std::min(lo, v), hi = std::max(hi, v);
        }
        diam2 += (hi - lo) * (hi - lo);
        centre[k] = 0.5 * lo + 0.5 * hi;
    }
    // Every c_ij <= diam2 rounded up (a few ulps for the sums of squares, then + 1/2).
    if (!((diam2 * (1 + 1e-12) + 1) * static_cast<double>(n + m + 1) < 0x1p51))
        throw Error("network simplex: costs too large for exact potentials");
    switch (dim) {
        case 1:
            return runSimplex(n, m, PointCost<1>(n, xs.data(), ys.data(), m, centre, diam2), supply, demand, opt);
        case 2:
            return runSimplex(n, m, PointCost<2>(n, xs.data(), ys.data(), m, centre, diam2), supply, demand, opt);
        default:
            return runSimplex(n, m, PointCost<3>(n, xs.data(), ys.data(), m, centre, diam2), supply, demand, opt);
    }
}

}  // namespace tl
