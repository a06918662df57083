#include "eulerian/poisson.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numbers>
#include <string>

#include "util/error.h"
#include "util/parallel.h"

namespace tl::eulerian {

namespace {

// FFTW's planner is not thread-safe (execution is): every plan made or destroyed here takes this lock.
std::mutex& plannerMutex() {
    static std::mutex m;
    return m;
}

// The Neumann Laplacian on a rank-2 or rank-3 cell-centred grid. dims are outermost first (C order):
// {ny, nx} or {nt, ny, nx}.
//  rank 2: diagonalised by a 2-D DCT-II / DCT-III. With one thread, one rank-2 plan each way; with T > 1,
//          per-axis plans of 1-D transforms, the other axis split in T chunks (each chunk its own plan on
//          its own part of the buffer), run by tl::parallelFor.
//  rank 3: a 2-D DCT of every slice of the outermost axis (time), then per 2-D mode a tridiagonal solve
//          along that axis (Thomas; (D_tt + mu) u = g is diagonally dominant, mu <= 0), then the inverse
//          2-D DCTs: the same direct solve as a 3-D DCT, without the strided transform along time (faster,
//          and FFTW plans it in a fraction of the time). Slices (transforms) and modes (solves) are split
//          among the threads.
class DctLaplacian {
public:
    DctLaplacian(std::vector<int> dims, std::vector<double> widths, int threads, const char* who)
        : n_(std::move(dims)), h_(std::move(widths)) {
        const int rank = static_cast<int>(n_.size());
        total_ = 1;
        for (int a = 0; a < rank; ++a) {
            if (n_[a] < 1 || !(h_[a] > 0) || !std::isfinite(h_[a]))
                throw Error(std::string(who) + ": grid sizes must be >= 1 and cell widths > 0");
            total_ *= static_cast<std::size_t>(n_[a]);
        }
        if (total_ > (std::size_t(1) << 31)) throw Error(std::string(who) + ": grid too large");
        stride_.assign(rank, 1);
        for (int a = rank - 2; a >= 0; --a) stride_[a] = stride_[a + 1] * n_[a + 1];
        threads_ = resolveThreads(threads);
        first_ = rank == 3 ? 1 : 0;  // the first axis done by cosine transforms

        // lambda_a(k) = -4 sin^2(pi k / (2 n_a)) / h_a^2, the 1-D Neumann second difference's eigenvalues
        lam_.resize(rank);
        norm_ = 1;
        for (int a = 0; a < rank; ++a) {
            if (a >= first_) norm_ *= 2.0 * n_[a];
            lam_[a].resize(n_[a]);
            for (int k = 0; k < n_[a]; ++k) {
                const double s = std::sin(std::numbers::pi * k / (2.0 * n_[a]));
                lam_[a][k] = -4 * s * s / (h_[a] * h_[a]);
            }
        }
        if (first_ == 0) {
            // 1 / (lambda(k) * prod(2 n_a)); DC -> 0
            inv_.resize(total_);
            for (std::size_t i = 0; i < total_; ++i) {
                std::size_t r = i;
                double l = 0;
                for (int a = rank - 1; a >= 0; --a) {
                    l += lam_[a][r % n_[a]];
                    r /= n_[a];
                }
                inv_[i] = i == 0 ? 0.0 : 1.0 / (l * norm_);
            }
        } else {
            // Thomas factors of (D_tt + mu_m) per 2-D mode m (mu_0 = 0 is singular: done apart)
            const std::size_t S = stride_[0];
            cp_.resize(total_);
            ip_.resize(total_);
            for (std::size_t m = 0; m < S; ++m) thomasFactorsInto(mu(m), cp_.data() + m, ip_.data() + m, S);
        }

        std::lock_guard<std::mutex> lock(plannerMutex());
        buf_ = static_cast<double*>(fftw_malloc(sizeof(double) * total_));
        if (!buf_) throw Error(std::string(who) + ": out of memory");
        const unsigned flags = FFTW_MEASURE;
        if (first_ == 1) {
            // 2-D transforms of slice chunks
            const int chunks = std::max(1, std::min(threads_, n_[0]));
            int d2[2] = {n_[1], n_[2]};
            const fftw_r2r_kind k10[2] = {FFTW_REDFT10, FFTW_REDFT10}, k01[2] = {FFTW_REDFT01, FFTW_REDFT01};
            const int dist = static_cast<int>(stride_[0]);
            for (int c = 0; c < chunks; ++c) {
                const int s = static_cast<int>(static_cast<long long>(n_[0]) * c / chunks);
                const int e = static_cast<int>(static_cast<long long>(n_[0]) * (c + 1) / chunks);
                double* p = buf_ + static_cast<std::size_t>(s) * stride_[0];
                fwd_.push_back(fftw_plan_many_r2r(2, d2, e - s, p, nullptr, 1, dist, p, nullptr, 1, dist, k10, flags));
                bwd_.push_back(fftw_plan_many_r2r(2, d2, e - s, p, nullptr, 1, dist, p, nullptr, 1, dist, k01, flags));
            }
            fwdAxis_.push_back(chunks);
            bwdAxis_.push_back(chunks);
        } else if (threads_ <= 1) {
            std::vector<fftw_r2r_kind> k10(rank, FFTW_REDFT10), k01(rank, FFTW_REDFT01);
            fwd_.push_back(fftw_plan_r2r(rank, n_.data(), buf_, buf_, k10.data(), flags));
            bwd_.push_back(fftw_plan_r2r(rank, n_.data(), buf_, buf_, k01.data(), flags));
            fwdAxis_.push_back(1);
            bwdAxis_.push_back(1);
        } else {
            // Backward order is the reverse of forward order (any order is correct; this keeps it tidy).
            for (int pass = 0; pass < 2; ++pass) {
                for (int step = 0; step < rank; ++step) {
                    const int a = pass == 0 ? step : rank - 1 - step;
                    // the other axis with the most lines is split among the threads
                    int split = -1;
                    for (int b = 0; b < rank; ++b)
                        if (b != a && (split < 0 || n_[b] > n_[split])) split = b;
                    const int chunks = std::max(1, std::min(threads_, n_[split]));
                    for (int c = 0; c < chunks; ++c) {
                        const int s = static_cast<int>(static_cast<long long>(n_[split]) * c / chunks);
                        const int e = static_cast<int>(static_cast<long long>(n_[split]) * (c + 1) / chunks);
                        fftw_iodim dim{n_[a], static_cast<int>(stride_[a]), static_cast<int>(stride_[a])};
                        std::vector<fftw_iodim> loops;
                        for (int b = 0; b < rank; ++b) {
                            if (b == a) continue;
                            const int cnt = b == split ? e - s : n_[b];
                            loops.push_back({cnt, static_cast<int>(stride_[b]), static_cast<int>(stride_[b])});
                        }
                        double* p = buf_ + static_cast<std::size_t>(s) * stride_[split];
                        const fftw_r2r_kind kind = pass == 0 ? FFTW_REDFT10 : FFTW_REDFT01;
                        fftw_plan pl = fftw_plan_guru_r2r(1, &dim, static_cast<int>(loops.size()), loops.data(), p, p, &kind, flags);
                        (pass == 0 ? fwd_ : bwd_).push_back(pl);
                    }
                    (pass == 0 ? fwdAxis_ : bwdAxis_).push_back(chunks);
                }
            }
        }
        for (auto* list : {&fwd_, &bwd_})
            for (fftw_plan p : *list)
                if (!p) {
                    release();
                    throw Error(std::string(who) + ": FFTW could not plan the cosine transform");
                }
    }

    ~DctLaplacian() {
        std::lock_guard<std::mutex> lock(plannerMutex());
        release();
    }

    // u = the zero-mean solution of L u = f - mean(f); returns mean(f).
    double solve(const double* f, double* u) { return solveImpl(f, u, 0.0, false); }

    // u = (c - L)^{-1} f for c > 0 (c = 0: the zero-mean solution of -L u = f - mean(f)).
    void solveShifted(const double* f, double* u, double c) { solveImpl(f, u, c, true); }

    // out = L u, Neumann (a missing neighbour adds no gradient).
    void apply(const double* u, double* out) const {
        const int rank = static_cast<int>(n_.size());
        std::vector<double> w(rank);
        for (int a = 0; a < rank; ++a) w[a] = 1 / (h_[a] * h_[a]);
        const std::size_t outer = total_ / static_cast<std::size_t>(n_[rank - 1]);
        parallelFor(outer, 16, threads_, [&](std::size_t b, std::size_t e) {
            std::vector<int> idx(rank);
            for (std::size_t line = b; line < e; ++line) {
                std::size_t r = line;
                for (int a = rank - 2; a >= 0; --a) {
                    idx[a] = static_cast<int>(r % n_[a]);
                    r /= n_[a];
                }
                const std::size_t base = line * n_[rank - 1];
                for (int ix = 0; ix < n_[rank - 1]; ++ix) {
                    const std::size_t c = base + ix;
                    double s = 0;
                    idx[rank - 1] = ix;
                    for (int a = 0; a < rank; ++a) {
                        if (idx[a] > 0) s += w[a] * (u[c - stride_[a]] - u[c]);
                        if (idx[a] + 1 < n_[a]) s += w[a] * (u[c + stride_[a]] - u[c]);
                    }
                    out[c] = s;
                }
            }
        });
    }

    std::size_t size() const { return total_; }

private:
    // mu of 2-D mode m (rank 3): lambda_y + lambda_x
    double mu(std::size_t m) const { return lam_[1][m / n_[2]] + lam_[2][m % n_[2]]; }

    // Thomas factors of T = tridiag(a, d_k, a), a = 1 / ht^2, d_k = mu - 2a (mu - a at both ends; mu for
    // a single time cell): cp[k * ld] = a / pivot_k, ip[k * ld] = 1 / pivot_k. For mu = 0 the last pivot
    // is 0 (singular): ip = 0 there (that mode is solved apart).
    void thomasFactorsInto(double muM, double* cp, double* ip, std::size_t ld) const {
        const int nt = n_[0];
        const double a = 1 / (h_[0] * h_[0]);
        double prev = 0;
        for (int k = 0; k < nt; ++k) {
            const double d = muM - (nt == 1 ? 0.0 : (k == 0 || k == nt - 1) ? a : 2 * a);
            const double piv = d - (k > 0 ? a * prev : 0.0);
            const double inv = piv != 0 ? 1 / piv : 0.0;
            ip[k * ld] = inv;
            cp[k * ld] = prev = a * inv;
        }
    }

    double solveImpl(const double* f, double* u, double c, bool shifted) {
        std::copy(f, f + total_, buf_);
        run(fwd_, fwdAxis_);
        const double sign = shifted ? -1.0 : 1.0;  // (c - L)^{-1} = -(L - c)^{-1}
        double mean;
        if (first_ == 0) {
            mean = buf_[0] / norm_;  // DC of REDFT10^d = 2^d sum(f); norm = 2^d N
            if (!shifted) {
                parallelFor(total_, 1 << 14, threads_, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i) buf_[i] *= inv_[i];
                });
            } else {
                const std::size_t inner = static_cast<std::size_t>(n_[1]);
                parallelFor(total_ / inner, 16, threads_, [&](std::size_t b, std::size_t e) {
                    for (std::size_t line = b; line < e; ++line) {
                        double* p = buf_ + line * inner;
                        for (std::size_t i = 0; i < inner; ++i) {
                            const double d = (c - lam_[0][line] - lam_[1][i]) * norm_;
                            p[i] = d > 0 ? p[i] / d : 0.0;
                        }
                    }
                });
            }
        } else {
            const int nt = n_[0];
            const std::size_t S = stride_[0];
            mean = 0;
            for (int k = 0; k < nt; ++k) mean += buf_[k * S];
            mean /= norm_ * nt;
            const double a = 1 / (h_[0] * h_[0]);
            const double scale = sign / norm_;
            // the 2-D DC mode is singular when c = 0: keep its data for the 1-D solve below
            std::vector<double> dc;
            if (!(c > 0)) {
                dc.resize(nt);
                for (int k = 0; k < nt; ++k) dc[k] = scale * buf_[k * S];
            }
            // per mode m: (D_tt + mu_m - c) v = sign * g / norm, by Thomas; time outermost, modes contiguous
            parallelFor(S, 512, threads_, [&](std::size_t b, std::size_t e) {
                const std::size_t w = e - b;
                std::vector<double> cpl, ipl;  // shifted: this chunk's factors of mu - c
                const double* cp = cp_.data() + b;
                const double* ip = ip_.data() + b;
                std::size_t ld = S;
                if (shifted) {
                    cpl.resize(static_cast<std::size_t>(nt) * w);
                    ipl.resize(cpl.size());
                    for (std::size_t m = b; m < e; ++m) thomasFactorsInto(mu(m) - c, cpl.data() + (m - b), ipl.data() + (m - b), w);
                    cp = cpl.data();
                    ip = ipl.data();
                    ld = w;
                }
                for (int k = 0; k < nt; ++k) {
                    double* g = buf_ + k * S + b;
                    const double* gp = g - S;
                    const double* ipk = ip + k * ld;
                    if (k == 0) {
                        for (std::size_t j = 0; j < w; ++j) g[j] = scale * g[j] * ipk[j];
                    } else {
                        for (std::size_t j = 0; j < w; ++j) g[j] = (scale * g[j] - a * gp[j]) * ipk[j];
                    }
                }
                for (int k = nt - 2; k >= 0; --k) {
                    double* g = buf_ + k * S + b;
                    const double* gn = g + S;
                    const double* cpk = cp + k * ld;
                    for (std::size_t j = 0; j < w; ++j) g[j] -= cpk[j] * gn[j];
                }
            });
            if (!(c > 0)) {
                // D_tt v = dc - mean(dc), Neumann: the flux through the face above node k is the partial sum
                double gm = 0;
                for (int k = 0; k < nt; ++k) gm += dc[k] / nt;
                double q = 0, v = 0, vm = 0;
                for (int k = 0; k < nt; ++k) {
                    buf_[k * S] = v;
                    vm += v / nt;
                    q += h_[0] * (dc[k] - gm);  // (v_{k+1} - v_k) / ht = ht * sum_{j <= k} (g_j - mean)
                    v += h_[0] * q;
                }
                for (int k = 0; k < nt; ++k) buf_[k * S] -= vm;
            }
        }
        run(bwd_, bwdAxis_);
        std::copy(buf_, buf_ + total_, u);
        return mean;
    }

public:
    int n(int a) const { return n_[a]; }

private:
    void run(const std::vector<fftw_plan>& plans, const std::vector<int>& perAxis) {
        std::size_t first = 0;
        for (int chunks : perAxis) {
            if (chunks == 1) {
                fftw_execute(plans[first]);
            } else {
                parallelFor(static_cast<std::size_t>(chunks), 1, threads_, [&](std::size_t b, std::size_t e) {
                    for (std::size_t c = b; c < e; ++c) fftw_execute(plans[first + c]);
                });
            }
            first += static_cast<std::size_t>(chunks);
        }
    }

    void release() {
        for (auto* list : {&fwd_, &bwd_}) {
            for (fftw_plan p : *list)
                if (p) fftw_destroy_plan(p);
            list->clear();
        }
        if (buf_) fftw_free(buf_);
        buf_ = nullptr;
    }

    std::vector<int> n_;
    std::vector<double> h_;
    std::vector<std::size_t> stride_;
    std::size_t total_ = 0;
    int threads_ = 1;
    double norm_ = 1;
    std::vector<std::vector<double>> lam_;  // per-axis eigenvalues of the 1-D Neumann second difference
    int first_ = 0;                         // rank 3: 1 (time by Thomas), else 0
    std::vector<double> inv_;               // rank 2: 1 / (lambda norm)
    std::vector<double> cp_, ip_;           // rank 3: Thomas factors per (time, 2-D mode)
    double* buf_ = nullptr;
    std::vector<fftw_plan> fwd_, bwd_;
    std::vector<int> fwdAxis_, bwdAxis_;  // plans per axis pass, in execution order
};

}  // namespace

// ---- the public solvers ----------------------------------------------------------------------------

struct NeumannPoisson::Impl {
    Impl(int nx, int ny, double hx, double hy, int threads) : L({ny, nx}, {hy, hx}, threads, "Neumann Poisson") {}
    DctLaplacian L;
};

NeumannPoisson::NeumannPoisson(int nx, int ny, double hx, double hy, int threads)
    : d_(std::make_unique<Impl>(nx, ny, hx, hy, threads)) {}
NeumannPoisson::~NeumannPoisson() = default;
double NeumannPoisson::solve(const double* f, double* u) { return d_->L.solve(f, u); }
void NeumannPoisson::solveShifted(const double* f, double* u, double c) { d_->L.solveShifted(f, u, c); }
void NeumannPoisson::apply(const double* u, double* out) const { d_->L.apply(u, out); }
int NeumannPoisson::nx() const { return d_->L.n(1); }
int NeumannPoisson::ny() const { return d_->L.n(0); }

struct NeumannPoisson3::Impl {
    Impl(int nx, int ny, int nt, double hx, double hy, double ht, int threads)
        : L({nt, ny, nx}, {ht, hy, hx}, threads, "space-time Neumann Poisson") {}
    DctLaplacian L;
};

NeumannPoisson3::NeumannPoisson3(int nx, int ny, int nt, double hx, double hy, double ht, int threads)
    : d_(std::make_unique<Impl>(nx, ny, nt, hx, hy, ht, threads)) {}
NeumannPoisson3::~NeumannPoisson3() = default;
double NeumannPoisson3::solve(const double* f, double* u) { return d_->L.solve(f, u); }
void NeumannPoisson3::solveShifted(const double* f, double* u, double c) { d_->L.solveShifted(f, u, c); }
void NeumannPoisson3::apply(const double* u, double* out) const { d_->L.apply(u, out); }

// ---- velocity fields ---------------------------------------------------------------------------------

namespace {

int gridSide(const std::vector<double>& rho, const std::vector<double>& drho, double h, const char* who) {
    const auto n = static_cast<int>(std::lround(std::sqrt(static_cast<double>(rho.size()))));
    if (n < 2 || static_cast<std::size_t>(n) * n != rho.size())
        throw Error(std::string(who) + ": the density must be an n x n grid with n >= 2");
    if (drho.size() != rho.size()) throw Error(std::string(who) + ": d_t rho and rho differ in size");
    if (!(h > 0) || !std::isfinite(h)) throw Error(std::string(who) + ": the cell width must be > 0");
    double mx = 0;
    for (std::size_t i = 0; i < rho.size(); ++i) {
        if (!std::isfinite(rho[i]) || rho[i] < 0) throw Error(std::string(who) + ": the density must be finite and >= 0");
        if (!std::isfinite(drho[i])) throw Error(std::string(who) + ": d_t rho must be finite");
        mx = std::max(mx, rho[i]);
    }
    if (!(mx > 0)) throw Error(std::string(who) + ": the density is zero everywhere");
    return n;
}

// Face densities (arithmetic means), boundary faces 0: rx[iy*(n+1)+ix], ry[iy*n+ix].
void faceDensities(const std::vector<double>& rho, int n, std::vector<double>& rx, std::vector<double>& ry) {
    rx.assign(static_cast<std::size_t>(n) * (n + 1), 0.0);
    ry.assign(static_cast<std::size_t>(n + 1) * n, 0.0);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 1; ix < n; ++ix)
            rx[static_cast<std::size_t>(iy) * (n + 1) + ix] = 0.5 * (rho[iy * n + ix - 1] + rho[iy * n + ix]);
    for (int iy = 1; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) ry[static_cast<std::size_t>(iy) * n + ix] = 0.5 * (rho[(iy - 1) * n + ix] + rho[iy * n + ix]);
}

// Face gradients of a cell potential (boundary faces 0).
void faceGradient(const std::vector<double>& p, int n, double h, std::vector<double>& gx, std::vector<double>& gy) {
    gx.assign(static_cast<std::size_t>(n) * (n + 1), 0.0);
    gy.assign(static_cast<std::size_t>(n + 1) * n, 0.0);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 1; ix < n; ++ix) gx[static_cast<std::size_t>(iy) * (n + 1) + ix] = (p[iy * n + ix] - p[iy * n + ix - 1]) / h;
    for (int iy = 1; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) gy[static_cast<std::size_t>(iy) * n + ix] = (p[iy * n + ix] - p[(iy - 1) * n + ix]) / h;
}

// out_i = div F_i from face fluxes Fx, Fy.
void faceDivergence(const std::vector<double>& fx, const std::vector<double>& fy, int n, double h, std::vector<double>& out) {
    out.resize(static_cast<std::size_t>(n) * n);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t ax = static_cast<std::size_t>(iy) * (n + 1) + ix;
            const std::size_t ay = static_cast<std::size_t>(iy) * n + ix;
            out[ay] = (fx[ax + 1] - fx[ax] + fy[ay + n] - fy[ay]) / h;
        }
}

// A phi = -div(rho_face grad phi)
void weightedOperator(const std::vector<double>& phi, const std::vector<double>& rx, const std::vector<double>& ry, int n, double h,
                      std::vector<double>& gx, std::vector<double>& gy, std::vector<double>& out) {
    faceGradient(phi, n, h, gx, gy);
    for (std::size_t i = 0; i < gx.size(); ++i) gx[i] *= rx[i];
    for (std::size_t i = 0; i < gy.size(); ++i) gy[i] *= ry[i];
    faceDivergence(gx, gy, n, h, out);
    for (double& v : out) v = -v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

void removeMean(std::vector<double>& v) {
    double m = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    for (double& x : v) x -= m;
}

double faceEnergy(const std::vector<double>& rx, const std::vector<double>& ry, const std::vector<double>& ux,
                  const std::vector<double>& uy, double h) {
    double e = 0;
    for (std::size_t i = 0; i < ux.size(); ++i) e += rx[i] * ux[i] * ux[i];
    for (std::size_t i = 0; i < uy.size(); ++i) e += ry[i] * uy[i] * uy[i];
    return e * h * h;
}

}  // namespace

VelocityField leastSquaresField(const std::vector<double>& rho, const std::vector<double>& drho_dt, double h,
                                const LeastSquaresOptions& opt) {
    const char* who = "least-squares field";
    const int n = gridSide(rho, drho_dt, h, who);
    const std::size_t N = rho.size();
    VelocityField r;
    r.cells = n;
    r.h = h;
    std::vector<double> rxTrue, ryTrue, rx, ry, gx, gy;
    faceDensities(rho, n, rxTrue, ryTrue);
    // the solve uses rho_face raised to relativeFloor * max(rho): it bounds the operator's dynamic range
    // (Gaussian tails reach 1e-60 and below, where neighbouring cells differ by e^10 and more)
    const double rmax = *std::max_element(rho.begin(), rho.end());
    r.floor = opt.relativeFloor * rmax;
    rx = rxTrue;
    ry = ryTrue;
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 1; ix < n; ++ix) {
            double& v = rx[static_cast<std::size_t>(iy) * (n + 1) + ix];
            v = std::max(v, r.floor);
        }
    for (int iy = 1; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            double& v = ry[static_cast<std::size_t>(iy) * n + ix];
            v = std::max(v, r.floor);
        }

    // A phi = g, g = d_t rho - mean, by preconditioned conjugate gradients
    std::vector<double> g(drho_dt);
    double gm = 0;
    for (double v : g) gm += v;
    gm /= static_cast<double>(N);
    for (double& v : g) v -= gm;
    r.incompatibility = gm;
    NeumannPoisson P(n, h, opt.threads);
    const double gnorm = std::sqrt(dot(g, g));
    std::vector<double> phi(N, 0.0), res(g), z(N), p(N), Ap(N);
    // M^{-1} = D^{-1/2} (c - L)^{-1} D^{-1/2}, D = the mean face density around each cell
    // (A = -div(rho grad) ~ D^{1/2} (-L + lower order) D^{1/2}), c = pi^2 / (n h)^2, the box's first
    // Neumann eigenvalue. Cells with no density on any face are left out (D^{-1/2} := 0).
    std::vector<double> isq(N), tmp(N);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            const std::size_t ax = static_cast<std::size_t>(iy) * (n + 1) + ix;
            const int faces = (ix > 0) + (ix + 1 < n) + (iy > 0) + (iy + 1 < n);
            const double d = (rx[ax] + rx[ax + 1] + ry[c] + ry[c + n]) / faces;
            isq[c] = d > 0 ? 1 / std::sqrt(d) : 0.0;
        }
    const double shift = std::numbers::pi * std::numbers::pi / ((n * h) * (n * h));
    auto precondition = [&](const std::vector<double>& in, std::vector<double>& out) {
        for (std::size_t i = 0; i < N; ++i) tmp[i] = in[i] * isq[i];
        P.solveShifted(tmp.data(), out.data(), shift);
        for (std::size_t i = 0; i < N; ++i) out[i] *= isq[i];
    };
    double relres = gnorm > 0 ? 1.0 : 0.0;
    int it = 0;
    if (gnorm > 0) {
        precondition(res, z);
        p = z;
        double rz = dot(res, z);
        const int cap = std::max(1, opt.maxIterations);
        double bestRel = 1;
        std::vector<double> best(phi);
        while (it < cap) {
            weightedOperator(p, rx, ry, n, h, gx, gy, Ap);
            const double pAp = dot(p, Ap);
            if (!(pAp > 0)) break;
            const double alpha = rz / pAp;
            for (std::size_t i = 0; i < N; ++i) {
                phi[i] += alpha * p[i];
                res[i] -= alpha * Ap[i];
            }
            ++it;
            relres = std::sqrt(dot(res, res)) / gnorm;
            if (relres < bestRel) {  // keep the best iterate: hopeless data (mass sent where rho ~ 0) can diverge
                bestRel = relres;
                best = phi;
            } else if (!(relres < 1e6 * bestRel)) {
                break;
            }
            if (relres <= opt.tolerance) break;
            precondition(res, z);
            const double rzNew = dot(res, z);
            const double beta = rzNew / rz;
            rz = rzNew;
            for (std::size_t i = 0; i < N; ++i) p[i] = z[i] + beta * p[i];
        }
        phi = std::move(best);
        // the true residual (not the recursively updated one)
        weightedOperator(phi, rx, ry, n, h, gx, gy, Ap);
        double s = 0;
        for (std::size_t i = 0; i < N; ++i) s += (g[i] - Ap[i]) * (g[i] - Ap[i]);
        relres = std::sqrt(s) / gnorm;
    }
    removeMean(phi);
    r.iterations = it;
    r.solverResidual = relres;
    r.converged = relres <= opt.tolerance;
    faceGradient(phi, n, h, r.faceX, r.faceY);
    r.vx.assign(N, 0.0);
    r.vy.assign(N, 0.0);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            const std::size_t ax = static_cast<std::size_t>(iy) * (n + 1) + ix;
            r.vx[c] = 0.5 * (r.faceX[ax] + r.faceX[ax + 1]);
            r.vy[c] = 0.5 * (r.faceY[c] + r.faceY[c + n]);
        }
    r.kineticEnergy = faceEnergy(rxTrue, ryTrue, r.faceX, r.faceY, h);
    r.potential = std::move(phi);
    return r;
}

VelocityField dacorognaMoserField(const std::vector<double>& rho, const std::vector<double>& drho_dt, double h,
                                  const DacorognaMoserOptions& opt) {
    const char* who = "Dacorogna-Moser field";
    const int n = gridSide(rho, drho_dt, h, who);
    const std::size_t N = rho.size();
    VelocityField r;
    r.cells = n;
    r.h = h;
    double mx = 0;
    for (double v : rho) mx = std::max(mx, v);
    r.floor = opt.relativeFloor * mx;
    std::vector<double> rhs(N), psi(N);
    for (std::size_t i = 0; i < N; ++i) rhs[i] = -drho_dt[i];
    NeumannPoisson P(n, h, opt.threads);
    r.incompatibility = -P.solve(rhs.data(), psi.data());
    std::vector<double> fx, fy, rx, ry;
    faceGradient(psi, n, h, fx, fy);  // the flux rho v = grad psi
    faceDensities(rho, n, rx, ry);
    r.faceX.assign(fx.size(), 0.0);
    r.faceY.assign(fy.size(), 0.0);
    int below = 0;
    auto divide = [&](const std::vector<double>& flux, const std::vector<double>& rf, std::vector<double>& v, bool xFaces) {
        for (std::size_t i = 0; i < flux.size(); ++i) {
            const bool boundary = xFaces ? (i % (n + 1) == 0 || i % (n + 1) == static_cast<std::size_t>(n))
                                         : (i < static_cast<std::size_t>(n) || i >= static_cast<std::size_t>(n) * n);
            if (boundary) continue;
            if (rf[i] > r.floor) {
                v[i] = flux[i] / rf[i];
            } else {
                ++below;
                if (opt.throwBelowFloor && flux[i] != 0)
                    throw Error(std::string(who) + ": v = grad psi / rho is undefined where rho <= " + std::to_string(r.floor) +
                                " (a face with non-zero flux)");
            }
        }
    };
    divide(fx, rx, r.faceX, true);
    divide(fy, ry, r.faceY, false);
    r.floorFaces = below;
    r.vx.assign(N, 0.0);
    r.vy.assign(N, 0.0);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            const std::size_t ax = static_cast<std::size_t>(iy) * (n + 1) + ix;
            if (rho[c] <= r.floor) continue;
            r.vx[c] = 0.5 * (fx[ax] + fx[ax + 1]) / rho[c];
            r.vy[c] = 0.5 * (fy[c] + fy[c + n]) / rho[c];
        }
    r.kineticEnergy = faceEnergy(rx, ry, r.faceX, r.faceY, h);
    r.potential = std::move(psi);
    return r;
}

double continuityResidualFaces(const std::vector<double>& rho, const std::vector<double>& drho_dt,
                               const std::vector<double>& faceX, const std::vector<double>& faceY, double h) {
    const int n = gridSide(rho, drho_dt, h, "continuity residual");
    const std::size_t nf = static_cast<std::size_t>(n) * (n + 1);
    if (faceX.size() != nf || faceY.size() != nf) throw Error("continuity residual: face velocities must have n (n + 1) entries");
    std::vector<double> rx, ry, fx(nf), fy(nf), div;
    faceDensities(rho, n, rx, ry);
    for (std::size_t i = 0; i < nf; ++i) {
        fx[i] = rx[i] * faceX[i];
        fy[i] = ry[i] * faceY[i];
    }
    faceDivergence(fx, fy, n, h, div);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < div.size(); ++i) {
        num += (drho_dt[i] + div[i]) * (drho_dt[i] + div[i]);
        den += drho_dt[i] * drho_dt[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

double continuityResidual(const std::vector<double>& rho, const std::vector<double>& drho_dt, const VelocityField& v) {
    return continuityResidualFaces(rho, drho_dt, v.faceX, v.faceY, v.h);
}

double continuityResidualCells(const std::vector<double>& rho, const std::vector<double>& drho_dt, const std::vector<double>& vx,
                               const std::vector<double>& vy, double h) {
    const int n = gridSide(rho, drho_dt, h, "continuity residual");
    if (vx.size() != rho.size() || vy.size() != rho.size())
        throw Error("continuity residual: cell velocities must have n * n entries");
    const std::size_t nf = static_cast<std::size_t>(n) * (n + 1);
    std::vector<double> fx(nf, 0.0), fy(nf, 0.0), div;
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 1; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            fx[static_cast<std::size_t>(iy) * (n + 1) + ix] = 0.5 * (rho[c - 1] * vx[c - 1] + rho[c] * vx[c]);
        }
    for (int iy = 1; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            fy[c] = 0.5 * (rho[c - n] * vy[c - n] + rho[c] * vy[c]);
        }
    faceDivergence(fx, fy, n, h, div);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < div.size(); ++i) {
        num += (drho_dt[i] + div[i]) * (drho_dt[i] + div[i]);
        den += drho_dt[i] * drho_dt[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

double kineticEnergy(const std::vector<double>& rho, const std::vector<double>& vx, const std::vector<double>& vy, double h) {
    if (vx.size() != rho.size() || vy.size() != rho.size()) throw Error("kinetic energy: velocity and density sizes differ");
    double e = 0;
    for (std::size_t i = 0; i < rho.size(); ++i) e += rho[i] * (vx[i] * vx[i] + vy[i] * vy[i]);
    return e * h * h;
}

}  // namespace tl::eulerian
