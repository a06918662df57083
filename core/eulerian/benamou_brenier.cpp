#include "eulerian/benamou_brenier.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "eulerian/poisson.h"
#include "util/error.h"
#include "util/parallel.h"

namespace tl::eulerian {

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Sum of f(b, e) over the chunks of [0, n) (each chunk's partial in its own slot).
template <class F>
double parallelSum(std::size_t n, std::size_t chunk, int threads, F&& f) {
    std::vector<double> part((n + chunk - 1) / chunk, 0.0);
    parallelFor(n, chunk, threads, [&](std::size_t b, std::size_t e) { part[b / chunk] = f(b, e); });
    return std::accumulate(part.begin(), part.end(), 0.0);
}

// prox of g J, J(f, m) = |m|^2 / (2 f): m = f m0 / (f + g), f the largest root of
// P(f) = (f - f0)(f + g)^2 - g |m0|^2 / 2 (0 when that root is <= 0). Newton from an upper bound of the
// root, where P is increasing and convex, so the iterates decrease monotonically onto it. Upper bounds:
// f* - f0 = c / (f* + g)^2 <= c / (f0+ + g)^2 and f* <= f0+ + cbrt(c), f0+ = max(f0, 0).
inline void proxKinetic(double f0, double mx0, double my0, double g, double& f, double& mx, double& my) {
    const double c = 0.5 * g * (mx0 * mx0 + my0 * my0);
    if (f0 <= 0 && -f0 * g * g >= c) {
        f = mx = my = 0;
        return;
    }
    const double fp = std::max(f0, 0.0), fg = fp + g;
    const double b = c / (fg * fg);
    double x = f0 + b;
    if (b > fg) x = std::min(x, fp + std::cbrt(c));
    for (int it = 0; it < 60; ++it) {
        const double xg = x + g;
        const double P = (x - f0) * xg * xg - c;
        const double dP = xg * (3 * x + g - 2 * f0);
        if (!(P > 0) || !(dP > 0)) break;
        const double dx = P / dP;
        x -= dx;
        if (dx <= 1e-13 * xg) break;
    }
    f = x;
    const double s = x / (x + g);
    mx = s * mx0;
    my = s * my0;
}

// Thomas factors of M = Id + I^T I on a line of N + 1 staggered values (I: average of neighbours):
// diagonal 5/4 at both ends, 3/2 inside, off-diagonals 1/4.
struct Tridiag {
    std::vector<double> inv, cp;  // 1 / pivot, c'_j
    static constexpr double off = 0.25;
    explicit Tridiag(int N) : inv(N + 1), cp(N + 1) {
        for (int j = 0; j <= N; ++j) {
            const double d = (j == 0 || j == N) ? 1.25 : 1.5;
            const double piv = d - (j > 0 ? off * cp[j - 1] : 0.0);
            inv[j] = 1 / piv;
            cp[j] = off * inv[j];
        }
    }
};

// Staggered variables on the space-time grid (n x n cells, nt time cells).
struct Staggered {
    std::vector<double> f;   // (nt + 1) * S          f[k * S + iy * n + ix], time nodes k = 0..nt
    std::vector<double> mx;  // nt * n * (n + 1)      x-faces ix = 0..n
    std::vector<double> my;  // nt * (n + 1) * n      y-faces iy = 0..n
    void resize(int n, int nt) {
        const std::size_t S = static_cast<std::size_t>(n) * n;
        f.assign((nt + 1) * S, 0.0);
        mx.assign(static_cast<std::size_t>(nt) * n * (n + 1), 0.0);
        my.assign(static_cast<std::size_t>(nt) * (n + 1) * n, 0.0);
    }
};
struct Centred {
    std::vector<double> f, mx, my;  // nt * S each
    void resize(int n, int nt) {
        const std::size_t N = static_cast<std::size_t>(nt) * n * n;
        f.assign(N, 0.0);
        mx.assign(N, 0.0);
        my.assign(N, 0.0);
    }
};

class Solver {
public:
    Solver(int n, int nt, double h, const std::vector<double>& r0, const std::vector<double>& r1, double gamma,
           const BenamouBrenierOptions& opt)
        : n_(n), nt_(nt), S_(static_cast<std::size_t>(n) * n), h_(h), ht_(1.0 / nt), r0_(r0), r1_(r1), opt_(opt),
          threads_(resolveThreads(opt.threads)), tx_(n), tt_(nt), poisson_(n, n, nt, h, h, 1.0 / nt, opt.threads), gamma_(gamma) {
        z_.U.resize(n, nt);
        z_.V.resize(n, nt);
        x_.resize(n, nt);
        xOld_.resize(n, nt);
        y_.resize(n, nt);
        div_.assign(static_cast<std::size_t>(nt) * S_, 0.0);
        // start: the mixture path, no momentum
        for (int k = 0; k <= nt; ++k) {
            const double t = static_cast<double>(k) / nt;
            for (std::size_t c = 0; c < S_; ++c) z_.U.f[k * S_ + c] = (1 - t) * r0[c] + t * r1[c];
        }
        for (int k = 0; k < nt; ++k)
            for (std::size_t c = 0; c < S_; ++c) z_.V.f[k * S_ + c] = 0.5 * (z_.U.f[k * S_ + c] + z_.U.f[(k + 1) * S_ + c]);
    }

    // One Douglas–Rachford step: x = P_graph(z); y = prox_G1(2x - z); z += alpha (y - x).
    void iterate() {
        std::swap(x_, xOld_);
        projectGraph();
        projectContinuity();
        poissonSeconds_ += poissonLast_;
        proxAndUpdate();
    }

    // z from the solver on the grid coarser by 2 in space (and by 1 or 2 in time): multilinear
    // interpolation, cell-centred values between the coarse centres (clamped at the box), face and node
    // values between the coarse faces / nodes.
    void prolongFrom(const Solver& c) {
        const int n = n_, nt = nt_, tr = nt / c.nt_;
        struct W {
            int j0, j1;
            double w0, w1;
        };
        // fine index i -> coarse (j0, j1, w0, w1): `nodes` for face / node positions, else cell centres
        auto table = [](int fine, int ratio, int coarse, bool nodes) {
            std::vector<W> t(fine);
            for (int i = 0; i < fine; ++i) {
                const double u = nodes ? static_cast<double>(i) / ratio : (i + 0.5) / ratio - 0.5;
                int j0 = static_cast<int>(std::floor(u));
                const double w = u - j0;
                int j1 = j0 + 1;
                j0 = std::clamp(j0, 0, coarse - 1 + (nodes ? 1 : 0));
                j1 = std::clamp(j1, 0, coarse - 1 + (nodes ? 1 : 0));
                t[i] = {j0, j1, 1 - w, w};
            }
            return t;
        };
        const auto sc = table(n, 2, c.n_, false), sn = table(n + 1, 2, c.n_, true);
        const auto tc = table(nt, tr, c.nt_, false), tn = table(nt + 1, tr, c.nt_, true);
        // value at fine (k, iy, ix) from coarse g(kc, jy, jx) with the three 1-D tables
        auto interp = [](const W& a, const W& b, const W& d, auto&& g) {
            double v = 0;
            for (int p = 0; p < 2; ++p)
                for (int q = 0; q < 2; ++q)
                    for (int r = 0; r < 2; ++r) {
                        const double w = (p ? a.w1 : a.w0) * (q ? b.w1 : b.w0) * (r ? d.w1 : d.w0);
                        if (w != 0) v += w * g(p ? a.j1 : a.j0, q ? b.j1 : b.j0, r ? d.j1 : d.j0);
                    }
            return v;
        };
        parallelFor(static_cast<std::size_t>(nt) + 1, 1, threads_, [&](std::size_t b, std::size_t e) {
            for (std::size_t kk = b; kk < e; ++kk) {
                const int k = static_cast<int>(kk);
                for (int iy = 0; iy < n; ++iy)
                    for (int ix = 0; ix < n; ++ix)
                        z_.U.f[k * S_ + static_cast<std::size_t>(iy) * n + ix] = interp(tn[k], sc[iy], sc[ix], [&](int a, int y, int x) {
                            return c.z_.U.f[a * c.S_ + static_cast<std::size_t>(y) * c.n_ + x];
                        });
                if (k == nt) continue;
                for (int iy = 0; iy < n; ++iy)
                    for (int ix = 0; ix <= n; ++ix)
                        z_.U.mx[fx(k, iy, ix)] = interp(tc[k], sc[iy], sn[ix], [&](int a, int y, int x) { return c.z_.U.mx[c.fx(a, y, x)]; });
                for (int iy = 0; iy <= n; ++iy)
                    for (int ix = 0; ix < n; ++ix)
                        z_.U.my[fy(k, iy, ix)] = interp(tc[k], sn[iy], sc[ix], [&](int a, int y, int x) { return c.z_.U.my[c.fy(a, y, x)]; });
                for (int iy = 0; iy < n; ++iy)
                    for (int ix = 0; ix < n; ++ix) {
                        const std::size_t fi = cc(k, iy, ix);
                        z_.V.f[fi] = interp(tc[k], sc[iy], sc[ix], [&](int a, int y, int x) { return c.z_.V.f[c.cc(a, y, x)]; });
                        z_.V.mx[fi] = interp(tc[k], sc[iy], sc[ix], [&](int a, int y, int x) { return c.z_.V.mx[c.cc(a, y, x)]; });
                        z_.V.my[fi] = interp(tc[k], sc[iy], sc[ix], [&](int a, int y, int x) { return c.z_.V.my[c.cc(a, y, x)]; });
                    }
            }
        });
    }

    double primal() const { return primal_; }
    double dual() const { return dual_; }
    double energy() const { return energy_; }
    double gamma() const { return gamma_; }
    double poissonSeconds() const { return poissonSeconds_; }
    const Staggered& solution() const { return y_; }

private:
    struct Pair {
        Staggered U;
        Centred V;
    };

    std::size_t fx(int k, int iy, int ix) const { return (static_cast<std::size_t>(k) * n_ + iy) * (n_ + 1) + ix; }
    std::size_t fy(int k, int iy, int ix) const { return (static_cast<std::size_t>(k) * (n_ + 1) + iy) * n_ + ix; }
    std::size_t cc(int k, int iy, int ix) const { return static_cast<std::size_t>(k) * S_ + static_cast<std::size_t>(iy) * n_ + ix; }

    // x = argmin |U - zU|^2 + |I U - zV|^2: (Id + I^T I) U = zU + I^T zV, per line of each component.
    // Also the dual residual ||x - xOld|| / ||x||.
    void projectGraph() {
        const int n = n_, nt = nt_;
        const std::size_t S = S_;
        const double off = Tridiag::off;
        // rho along t, vectorised over space chunks
        const std::size_t chunk = std::max<std::size_t>(256, S / (4 * threads_) + 1);
        double dnum = parallelSum(S, chunk, threads_, [&](std::size_t b, std::size_t e) {
            const double* zU = z_.U.f.data();
            const double* zV = z_.V.f.data();
            double* X = x_.f.data();
            const double* XO = xOld_.f.data();
            for (int j = 0; j <= nt; ++j) {
                const double iv = tt_.inv[j];
                for (std::size_t c = b; c < e; ++c) {
                    double r = zU[j * S + c];
                    if (j > 0) r += 0.5 * zV[(j - 1) * S + c];
                    if (j < nt) r += 0.5 * zV[j * S + c];
                    if (j > 0) r -= off * X[(j - 1) * S + c];
                    X[j * S + c] = r * iv;
                }
            }
            double d = 0;
            for (std::size_t c = b; c < e; ++c) d += (X[nt * S + c] - XO[nt * S + c]) * (X[nt * S + c] - XO[nt * S + c]);
            for (int j = nt - 1; j >= 0; --j) {
                const double cpj = tt_.cp[j];
                for (std::size_t c = b; c < e; ++c) {
                    const double v = X[j * S + c] - cpj * X[(j + 1) * S + c];
                    X[j * S + c] = v;
                    d += (v - XO[j * S + c]) * (v - XO[j * S + c]);
                }
            }
            return d;
        });
        // m_x along x (contiguous lines), m_y along y (vectorised over ix); parallel over time cells
        dnum += parallelSum(static_cast<std::size_t>(nt), 1, threads_, [&](std::size_t b, std::size_t e) {
            double d = 0;
            for (std::size_t kk = b; kk < e; ++kk) {
                const int k = static_cast<int>(kk);
                for (int iy = 0; iy < n; ++iy) {
                    const double* zU = &z_.U.mx[fx(k, iy, 0)];
                    const double* zV = &z_.V.mx[cc(k, iy, 0)];
                    double* X = &x_.mx[fx(k, iy, 0)];
                    const double* XO = &xOld_.mx[fx(k, iy, 0)];
                    double prev = 0;
                    for (int j = 0; j <= n; ++j) {
                        double r = zU[j];
                        if (j > 0) r += 0.5 * zV[j - 1];
                        if (j < n) r += 0.5 * zV[j];
                        prev = (r - off * prev) * tx_.inv[j];
                        X[j] = prev;
                    }
                    d += (X[n] - XO[n]) * (X[n] - XO[n]);
                    for (int j = n - 1; j >= 0; --j) {
                        X[j] -= tx_.cp[j] * X[j + 1];
                        d += (X[j] - XO[j]) * (X[j] - XO[j]);
                    }
                }
                const double* zU = &z_.U.my[fy(k, 0, 0)];
                const double* zV = &z_.V.my[cc(k, 0, 0)];
                double* X = &x_.my[fy(k, 0, 0)];
                const double* XO = &xOld_.my[fy(k, 0, 0)];
                for (int j = 0; j <= n; ++j) {
                    const double iv = tx_.inv[j];
                    for (int ix = 0; ix < n; ++ix) {
                        double r = zU[j * n + ix];
                        if (j > 0) r += 0.5 * zV[(j - 1) * n + ix] - off * X[(j - 1) * n + ix];
                        if (j < n) r += 0.5 * zV[j * n + ix];
                        X[j * n + ix] = r * iv;
                    }
                }
                for (int ix = 0; ix < n; ++ix) d += (X[n * n + ix] - XO[n * n + ix]) * (X[n * n + ix] - XO[n * n + ix]);
                for (int j = n - 1; j >= 0; --j) {
                    const double cpj = tx_.cp[j];
                    for (int ix = 0; ix < n; ++ix) {
                        const double v = X[j * n + ix] - cpj * X[(j + 1) * n + ix];
                        X[j * n + ix] = v;
                        d += (v - XO[j * n + ix]) * (v - XO[j * n + ix]);
                    }
                }
            }
            return d;
        });
        const double xnorm = norm2(x_.f) + norm2(x_.mx) + norm2(x_.my);
        dual_ = xnorm > 0 ? std::sqrt(dnum / xnorm) : 0.0;
    }

    double norm2(const std::vector<double>& v) const {
        return parallelSum(v.size(), 1 << 15, threads_, [&](std::size_t b, std::size_t e) {
            double s = 0;
            for (std::size_t i = b; i < e; ++i) s += v[i] * v[i];
            return s;
        });
    }

    // yU = projection of 2 xU - zU onto {div U = 0, m . n = 0 on the box, rho(0) = r0, rho(1) = r1}.
    void projectContinuity() {
        const int n = n_, nt = nt_;
        const std::size_t S = S_;
        Staggered& Y = y_;
        // reflection 2x - z (all time nodes; then the boundary data)
        parallelFor(static_cast<std::size_t>(nt) + 1, 1, threads_, [&](std::size_t b, std::size_t e) {
            for (std::size_t k = b; k < e; ++k) {
                for (std::size_t c = 0; c < S; ++c) Y.f[k * S + c] = 2 * x_.f[k * S + c] - z_.U.f[k * S + c];
                if (k == 0)
                    for (std::size_t c = 0; c < S; ++c) Y.f[c] = r0_[c];
                if (k == static_cast<std::size_t>(nt))
                    for (std::size_t c = 0; c < S; ++c) Y.f[k * S + c] = r1_[c];
                if (k == static_cast<std::size_t>(nt)) continue;
                const std::size_t FX = static_cast<std::size_t>(n) * (n + 1);
                for (std::size_t i = k * FX; i < (k + 1) * FX; ++i) {
                    Y.mx[i] = 2 * x_.mx[i] - z_.U.mx[i];
                    Y.my[i] = 2 * x_.my[i] - z_.U.my[i];
                }
                for (int iy = 0; iy < n; ++iy) Y.mx[fx(static_cast<int>(k), iy, 0)] = Y.mx[fx(static_cast<int>(k), iy, n)] = 0;
                for (int ix = 0; ix < n; ++ix) Y.my[fy(static_cast<int>(k), 0, ix)] = Y.my[fy(static_cast<int>(k), n, ix)] = 0;
                // divergence at the centred cells of time cell k
                const double ih = 1 / h_;
                for (int iy = 0; iy < n; ++iy) {
                    const double* mxr = &Y.mx[fx(static_cast<int>(k), iy, 0)];
                    const double* myr = &Y.my[fy(static_cast<int>(k), iy, 0)];
                    double* d = &div_[cc(static_cast<int>(k), iy, 0)];
                    for (int ix = 0; ix < n; ++ix) d[ix] = (mxr[ix + 1] - mxr[ix]) * ih + (myr[ix + n] - myr[ix]) * ih;
                }
            }
        });
        // time part of the divergence needs both nodes (the boundary nodes are set above)
        parallelFor(static_cast<std::size_t>(nt), 1, threads_, [&](std::size_t b, std::size_t e) {
            const double iht = 1 / ht_;
            for (std::size_t k = b; k < e; ++k)
                for (std::size_t c = 0; c < S; ++c) div_[k * S + c] += (Y.f[(k + 1) * S + c] - Y.f[k * S + c]) * iht;
        });
        const auto t0 = Clock::now();
        poisson_.solve(div_.data(), div_.data());  // p with Lap p = div
        poissonLast_ = seconds(t0, Clock::now());
        // U -= grad p on the free (interior) faces and time nodes
        parallelFor(static_cast<std::size_t>(nt) + 1, 1, threads_, [&](std::size_t b, std::size_t e) {
            const double ih = 1 / h_, iht = 1 / ht_;
            const double* p = div_.data();
            for (std::size_t kk = b; kk < e; ++kk) {
                const int k = static_cast<int>(kk);
                if (k > 0 && k < nt)
                    for (std::size_t c = 0; c < S; ++c) Y.f[k * S + c] -= (p[k * S + c] - p[(k - 1) * S + c]) * iht;
                if (k == nt) continue;
                for (int iy = 0; iy < n; ++iy) {
                    const double* pr = &p[cc(k, iy, 0)];
                    double* mxr = &Y.mx[fx(k, iy, 0)];
                    for (int ix = 1; ix < n; ++ix) mxr[ix] -= (pr[ix] - pr[ix - 1]) * ih;
                    if (iy > 0) {
                        double* myr = &Y.my[fy(k, iy, 0)];
                        for (int ix = 0; ix < n; ++ix) myr[ix] -= (pr[ix] - pr[ix - n]) * ih;
                    }
                }
            }
        });
    }

    // yV = prox_{gamma J}(2 I(xU) - zV); zV += alpha (yV - I(xU)); zU += alpha (yU - xU);
    // primal residual ||I(yU) - yV|| / ||yV||; energy of yV.
    void proxAndUpdate() {
        const int n = n_, nt = nt_;
        const std::size_t S = S_;
        const double a = opt_.relaxation, g = gamma_;
        std::vector<double> parts(3 * static_cast<std::size_t>(nt), 0.0);
        parallelFor(static_cast<std::size_t>(nt), 1, threads_, [&](std::size_t b, std::size_t e) {
            for (std::size_t kk = b; kk < e; ++kk) {
                const int k = static_cast<int>(kk);
                double num = 0, den = 0, en = 0;
                for (int iy = 0; iy < n; ++iy)
                    for (int ix = 0; ix < n; ++ix) {
                        const std::size_t c = cc(k, iy, ix), s = static_cast<std::size_t>(iy) * n + ix;
                        const std::size_t ax = fx(k, iy, ix), ay = fy(k, iy, ix);
                        const double If = 0.5 * (x_.f[k * S + s] + x_.f[(k + 1) * S + s]);
                        const double Imx = 0.5 * (x_.mx[ax] + x_.mx[ax + 1]);
                        const double Imy = 0.5 * (x_.my[ay] + x_.my[ay + n]);
                        double f, mx, my;
                        proxKinetic(2 * If - z_.V.f[c], 2 * Imx - z_.V.mx[c], 2 * Imy - z_.V.my[c], g, f, mx, my);
                        z_.V.f[c] += a * (f - If);
                        z_.V.mx[c] += a * (mx - Imx);
                        z_.V.my[c] += a * (my - Imy);
                        const double Yf = 0.5 * (y_.f[k * S + s] + y_.f[(k + 1) * S + s]);
                        const double Ymx = 0.5 * (y_.mx[ax] + y_.mx[ax + 1]);
                        const double Ymy = 0.5 * (y_.my[ay] + y_.my[ay + n]);
                        num += (Yf - f) * (Yf - f) + (Ymx - mx) * (Ymx - mx) + (Ymy - my) * (Ymy - my);
                        den += f * f + mx * mx + my * my;
                        if (f > 0) en += (mx * mx + my * my) / f;
                    }
                parts[3 * kk] = num;
                parts[3 * kk + 1] = den;
                parts[3 * kk + 2] = en;
            }
        });
        double num = 0, den = 0, en = 0;
        for (int k = 0; k < nt; ++k) {
            num += parts[3 * k];
            den += parts[3 * k + 1];
            en += parts[3 * k + 2];
        }
        primal_ = den > 0 ? std::sqrt(num / den) : 0.0;
        energy_ = en * h_ * h_ * ht_;
        if (!std::isfinite(primal_) || !std::isfinite(energy_)) throw Error("Benamou-Brenier: the iterates are not finite");
        auto upd = [&](std::vector<double>& z, const std::vector<double>& y, const std::vector<double>& x) {
            parallelFor(z.size(), 1 << 14, threads_, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) z[i] += a * (y[i] - x[i]);
            });
        };
        upd(z_.U.f, y_.f, x_.f);
        upd(z_.U.mx, y_.mx, x_.mx);
        upd(z_.U.my, y_.my, x_.my);
    }

    int n_, nt_;
    std::size_t S_;
    double h_, ht_;
    const std::vector<double>& r0_;
    const std::vector<double>& r1_;
    const BenamouBrenierOptions& opt_;
    int threads_;
    Tridiag tx_, tt_;
    NeumannPoisson3 poisson_;
    double gamma_ = 1;
    Pair z_;
    Staggered y_;
    Staggered x_, xOld_;
    std::vector<double> div_;
    double primal_ = 1, dual_ = 1, energy_ = 0;
    double poissonSeconds_ = 0, poissonLast_ = 0;
};

std::vector<double> normalised(const DensityGrid& g, const char* which) {
    const std::size_t N = static_cast<std::size_t>(g.cells) * g.cells;
    if (g.values.size() != N) throw Error(std::string("Benamou-Brenier: ") + which + " has " + std::to_string(g.values.size()) +
                                          " values for a " + std::to_string(g.cells) + " x " + std::to_string(g.cells) + " grid");
    double s = 0;
    for (double v : g.values) {
        if (!std::isfinite(v) || v < 0) throw Error(std::string("Benamou-Brenier: ") + which + " must be finite and >= 0");
        s += v;
    }
    if (!(s > 0)) throw Error(std::string("Benamou-Brenier: ") + which + " has no mass");
    std::vector<double> r(g.values);
    const double scale = 1 / (s * g.cellArea());
    for (double& v : r) v *= scale;
    return r;
}

}  // namespace

BenamouBrenierResult benamouBrenier(const DensityGrid& rho0, const DensityGrid& rho1, const BenamouBrenierOptions& opt) {
    const auto start = Clock::now();
    if (rho0.cells < 2 || !(rho0.extent > 0)) throw Error("Benamou-Brenier: the grid needs cells >= 2 and extent > 0");
    if (rho1.cells != rho0.cells || rho1.extent != rho0.extent)
        throw Error("Benamou-Brenier: the two densities must be on the same grid (cells, extent)");
    if (opt.timeSteps < 1) throw Error("Benamou-Brenier: time_steps must be >= 1");
    if (!(opt.relaxation > 0 && opt.relaxation < 2)) throw Error("Benamou-Brenier: relaxation must lie in (0, 2)");
    if (opt.maxIterations < 1) throw Error("Benamou-Brenier: iterations must be >= 1");
    const int n = rho0.cells, nt = opt.timeSteps;
    const double h = rho0.h();
    std::vector<double> r0 = normalised(rho0, "rho0"), r1 = normalised(rho1, "rho1");
    // equal discrete masses to the last bit (the Poisson data must have zero mean)
    {
        const double s0 = std::accumulate(r0.begin(), r0.end(), 0.0), s1 = std::accumulate(r1.begin(), r1.end(), 0.0);
        for (double& v : r1) v *= s0 / s1;
    }

    BenamouBrenierResult res;
    res.timeSteps = nt;
    double rmax = 0;
    for (std::size_t c = 0; c < r0.size(); ++c) rmax = std::max({rmax, r0[c], r1[c]});
    const double gamma = opt.gamma > 0 ? opt.gamma : opt.gammaScale * rmax;
    res.gamma = gamma;

    // the grid hierarchy, finest first: halve the cells while even and >= 2 coarsestCells, and the time
    // steps while even and >= 8; coarse densities are 2 x 2 cell averages (same mass)
    struct Level {
        int n, nt;
        double h;
        std::vector<double> r0, r1;
    };
    std::vector<Level> levels{{n, nt, h, r0, r1}};
    while (opt.multilevel && levels.back().n % 2 == 0 && levels.back().n >= 2 * std::max(2, opt.coarsestCells)) {
        const Level& f = levels.back();
        Level c{f.n / 2, f.nt % 2 == 0 && f.nt >= 8 ? f.nt / 2 : f.nt, 2 * f.h, {}, {}};
        for (const auto* src : {&f.r0, &f.r1}) {
            std::vector<double> v(static_cast<std::size_t>(c.n) * c.n);
            for (int iy = 0; iy < c.n; ++iy)
                for (int ix = 0; ix < c.n; ++ix) {
                    const std::size_t a0 = static_cast<std::size_t>(2 * iy) * f.n + 2 * ix;
                    v[static_cast<std::size_t>(iy) * c.n + ix] = 0.25 * ((*src)[a0] + (*src)[a0 + 1] + (*src)[a0 + f.n] + (*src)[a0 + f.n + 1]);
                }
            (src == &f.r0 ? c.r0 : c.r1) = std::move(v);
        }
        levels.push_back(std::move(c));
    }

    int total = 0;
    double poissonSeconds = 0, loopSeconds = 0, fineLoopSeconds = 0;
    std::unique_ptr<Solver> solver, coarse;
    for (int l = static_cast<int>(levels.size()) - 1; l >= 0 && !res.cancelled; --l) {
        const Level& L = levels[l];
        solver = std::make_unique<Solver>(L.n, L.nt, L.h, L.r0, L.r1, gamma, opt);
        if (coarse) {
            solver->prolongFrom(*coarse);
            coarse.reset();
        }
        const auto loopStart = Clock::now();
        int it = 0;
        while (it < opt.maxIterations) {
            solver->iterate();
            ++it;
            ++total;
            const bool done = solver->primal() < opt.tolerance && solver->dual() < opt.tolerance;
            if (opt.progress && !opt.progress(total, solver->primal(), solver->dual())) {
                res.cancelled = true;
                break;
            }
            if (done) {
                res.converged = l == 0;
                break;
            }
        }
        const double dt = seconds(loopStart, Clock::now());
        loopSeconds += dt;
        poissonSeconds += solver->poissonSeconds();
        if (l > 0) {
            res.coarseIterations += it;
            coarse = std::move(solver);
        } else {
            res.iterations = it;
            fineLoopSeconds = dt;
        }
    }
    if (!solver) solver = std::move(coarse);  // cancelled on a coarse level: its residuals
    res.levels = static_cast<int>(levels.size());
    res.primalResidual = solver->primal();
    res.dualResidual = solver->dual();
    res.kineticEnergy = solver->energy();
    res.secondsPerIteration = res.iterations > 0 ? fineLoopSeconds / res.iterations : 0;
    res.poissonFraction = loopSeconds > 0 ? poissonSeconds / loopSeconds : 0;
    if (res.cancelled) {  // no frames
        res.seconds = seconds(start, Clock::now());
        return res;
    }

    // frames at the time nodes, from the staggered iterate y that satisfies continuity exactly (the
    // time filter below keeps a discrete continuity equation, with the momenta filtered alike)
    const Staggered& U = solver->solution();
    const std::size_t S = static_cast<std::size_t>(n) * n;
    res.velocityFloor = opt.relativeFloor * rmax;
    res.times.resize(nt + 1);
    res.densities.resize(nt + 1);
    res.momentumX.assign(nt + 1, std::vector<double>(S, 0.0));
    res.momentumY.assign(nt + 1, std::vector<double>(S, 0.0));
    res.velocityX.assign(nt + 1, std::vector<double>(S, 0.0));
    res.velocityY.assign(nt + 1, std::vector<double>(S, 0.0));
    std::vector<double> clipped(nt + 1, 0.0);
    parallelFor(static_cast<std::size_t>(nt) + 1, 1, resolveThreads(opt.threads), [&](std::size_t b, std::size_t e) {
        for (std::size_t kk = b; kk < e; ++kk) {
            const int k = static_cast<int>(kk);
            res.times[k] = static_cast<double>(k) / nt;
            DensityGrid& g = res.densities[k];
            g.cells = n;
            g.extent = rho0.extent;
            // inside: the mean of the two space-time cells around the node (where the energy sees the
            // density): f_k / 2 + (f_{k-1} + f_{k+1}) / 4; mass stays 1. It removes the mode alternating
            // in time that the averaging I leaves free. Ends: the data.
            if (k == 0) {
                g.values = r0;
            } else if (k == nt) {
                g.values = r1;
            } else {
                g.values.resize(S);
                for (std::size_t c = 0; c < S; ++c)
                    g.values[c] = 0.5 * U.f[k * S + c] + 0.25 * (U.f[(k - 1) * S + c] + U.f[(k + 1) * S + c]);
            }
            double neg = 0, sum = 0;
            for (double& v : g.values) {
                if (v < 0) {
                    neg -= v;
                    v = 0;
                }
                sum += v;
            }
            clipped[k] = neg * h * h;
            const double scale = sum > 0 ? 1 / (sum * h * h) : 0;
            for (double& v : g.values) v *= scale;
            // momentum at the node: the time cells on both sides (one at the ends), faces averaged
            const int k0 = std::max(0, k - 1), k1 = std::min(nt - 1, k);
            const double w = k0 == k1 ? 1.0 : 0.5;
            for (int kc = k0; kc <= k1; ++kc)
                for (int iy = 0; iy < n; ++iy)
                    for (int ix = 0; ix < n; ++ix) {
                        const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
                        const std::size_t ax = (static_cast<std::size_t>(kc) * n + iy) * (n + 1) + ix;
                        const std::size_t ay = (static_cast<std::size_t>(kc) * (n + 1) + iy) * n + ix;
                        res.momentumX[k][c] += w * 0.5 * (U.mx[ax] + U.mx[ax + 1]);
                        res.momentumY[k][c] += w * 0.5 * (U.my[ay] + U.my[ay + n]);
                    }
            for (std::size_t c = 0; c < S; ++c) {
                const double r = g.values[c];
                if (r > res.velocityFloor) {
                    res.velocityX[k][c] = res.momentumX[k][c] / r;
                    res.velocityY[k][c] = res.momentumY[k][c] / r;
                }
            }
        }
    });
    res.clippedMass = *std::max_element(clipped.begin(), clipped.end());
    res.seconds = seconds(start, Clock::now());
    return res;
}

}  // namespace tl::eulerian
