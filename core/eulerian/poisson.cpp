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

// The Neumann Laplacian on a rank-2 or rank-3 cell-centred grid, diagonalised by DCT-II / DCT-III.
// dims are outermost first (C order): {ny, nx} or {nt, ny, nx}. With one thread, one rank-d plan each
// way; with T > 1 threads, per-axis plans of 1-D transforms, the loop over the other axes split in T
// chunks (each chunk its own plan on its own part of the buffer), run by tl::parallelFor.
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

        // 1 / (lambda(k) * prod(2 n_a)); lambda(k) = -sum_a 4 sin^2(pi k_a / (2 n_a)) / h_a^2; DC -> 0.
        std::vector<std::vector<double>> lam(rank);
        double norm = 1;
        for (int a = 0; a < rank; ++a) {
            norm *= 2.0 * n_[a];
            lam[a].resize(n_[a]);
            for (int k = 0; k < n_[a]; ++k) {
                const double s = std::sin(std::numbers::pi * k / (2.0 * n_[a]));
                lam[a][k] = -4 * s * s / (h_[a] * h_[a]);
            }
        }
        norm_ = norm;
        inv_.resize(total_);
        for (std::size_t i = 0; i < total_; ++i) {
            std::size_t r = i;
            double l = 0;
            for (int a = rank - 1; a >= 0; --a) {
                l += lam[a][r % n_[a]];
                r /= n_[a];
            }
            inv_[i] = i == 0 ? 0.0 : 1.0 / (l * norm);
        }

        std::lock_guard<std::mutex> lock(plannerMutex());
        buf_ = static_cast<double*>(fftw_malloc(sizeof(double) * total_));
        if (!buf_) throw Error(std::string(who) + ": out of memory");
        const unsigned flags = FFTW_MEASURE;
        if (threads_ <= 1) {
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

    double solve(const double* f, double* u) {
        std::copy(f, f + total_, buf_);
        run(fwd_, fwdAxis_);
        const double mean = buf_[0] / norm_;  // DC of REDFT10^d = 2^d sum(f); norm = 2^d N
        parallelFor(total_, 1 << 14, threads_, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) buf_[i] *= inv_[i];
        });
        run(bwd_, bwdAxis_);
        std::copy(buf_, buf_ + total_, u);
        return mean;
    }

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
    std::vector<double> inv_;
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
    std::vector<double> rx, ry, gx, gy;
    faceDensities(rho, n, rx, ry);
    double rhoMean = 0;
    for (double v : rho) rhoMean += v;
    rhoMean /= static_cast<double>(N);

    // A phi = g, g = d_t rho - mean; M^{-1} = (-rhoMean L)^{-1}.
    std::vector<double> g(drho_dt);
    double gm = 0;
    for (double v : g) gm += v;
    gm /= static_cast<double>(N);
    for (double& v : g) v -= gm;
    r.incompatibility = gm;
    NeumannPoisson P(n, h, opt.threads);
    const double gnorm = std::sqrt(dot(g, g));
    std::vector<double> phi(N, 0.0), res(g), z(N), p(N), Ap(N);
    auto precondition = [&](const std::vector<double>& in, std::vector<double>& out) {
        P.solve(in.data(), out.data());
        for (double& v : out) v /= -rhoMean;
    };
    double relres = gnorm > 0 ? 1.0 : 0.0;
    int it = 0;
    if (gnorm > 0) {
        precondition(res, z);
        p = z;
        double rz = dot(res, z);
        const int cap = std::max(1, opt.maxIterations);
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
            if (relres <= opt.tolerance) break;
            precondition(res, z);
            const double rzNew = dot(res, z);
            const double beta = rzNew / rz;
            rz = rzNew;
            for (std::size_t i = 0; i < N; ++i) p[i] = z[i] + beta * p[i];
        }
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
    r.kineticEnergy = faceEnergy(rx, ry, r.faceX, r.faceY, h);
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

double continuityResidual(const std::vector<double>& rho, const std::vector<double>& drho_dt, const std::vector<double>& vx,
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
