// Eulerian solvers on density grids (science.md §1, §3): the DCT Neumann Poisson solvers (2-D and space-time)
// against discrete eigenfunctions and the operator itself; the least-squares and Dacorogna–Moser fields on
// a mixture path (continuity, kinetic energies, a translation recovered exactly); Benamou–Brenier between
// two non-commuting Gaussians against the Bures closed form (Prop. 4.3), McCann convexity of the entropy,
// speed, a 128^2 x 64 run, cancellation and bad input.
#include "engine/frame.h"
#include "eulerian/benamou_brenier.h"
#include "eulerian/poisson.h"
#include "util/error.h"
#include "util/rng.h"

#include <QtTest>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <tuple>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr double pi = std::numbers::pi;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

Eigen::Matrix2d sqrtm(const Eigen::Matrix2d& a) {
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> es(a);
    return es.eigenvectors() * es.eigenvalues().cwiseSqrt().asDiagonal() * es.eigenvectors().transpose();
}

// N(m, S) by its exact density at the cell centres, normalised to mass 1 on the grid.
tl::DensityGrid gaussianGrid(int cells, double extent, const Eigen::Vector2d& m, const Eigen::Matrix2d& S) {
    tl::DensityGrid g;
    g.cells = cells;
    g.extent = extent;
    g.values.resize(static_cast<std::size_t>(cells) * cells);
    const Eigen::Matrix2d P = S.inverse();
    double sum = 0;
    for (int iy = 0; iy < cells; ++iy)
        for (int ix = 0; ix < cells; ++ix) {
            const Eigen::Vector2d d = Eigen::Vector2d(g.center(ix), g.center(iy)) - m;
            const double v = std::exp(-0.5 * d.dot(P * d));
            g.values[static_cast<std::size_t>(iy) * cells + ix] = v;
            sum += v;
        }
    for (double& v : g.values) v /= sum * g.cellArea();
    return g;
}

void moments(const tl::DensityGrid& g, Eigen::Vector2d& mean, Eigen::Matrix2d& cov) {
    mean.setZero();
    cov.setZero();
    double mass = 0;
    for (int iy = 0; iy < g.cells; ++iy)
        for (int ix = 0; ix < g.cells; ++ix) {
            const double w = g.values[static_cast<std::size_t>(iy) * g.cells + ix] * g.cellArea();
            mean += w * Eigen::Vector2d(g.center(ix), g.center(iy));
            mass += w;
        }
    mean /= mass;
    for (int iy = 0; iy < g.cells; ++iy)
        for (int ix = 0; ix < g.cells; ++ix) {
            const double w = g.values[static_cast<std::size_t>(iy) * g.cells + ix] * g.cellArea();
            const Eigen::Vector2d d = Eigen::Vector2d(g.center(ix), g.center(iy)) - mean;
            cov += w * d * d.transpose();
        }
    cov /= mass;
}

// The pair of the checks: means (-1, 0.3), (1, -0.2); covariances that do not commute.
struct GaussianPair {
    Eigen::Vector2d m0{-1, 0.3}, m1{1, -0.2};
    Eigen::Matrix2d S0, S1, A;
    double w2 = 0;  // Bures W2^2 (no 1/2)
    GaussianPair() {
        S0 << 0.5, 0.25, 0.25, 0.3;
        S1 << 0.25, -0.1, -0.1, 0.6;
        const Eigen::Matrix2d r = sqrtm(S0), ri = r.inverse(), mid = sqrtm(r * S1 * r);
        A = ri * mid * ri;
        w2 = (m0 - m1).squaredNorm() + (S0 + S1 - 2 * mid).trace();
    }
    Eigen::Matrix2d covAt(double t) const {
        const Eigen::Matrix2d T = (1 - t) * Eigen::Matrix2d::Identity() + t * A;
        return T * S0 * T;
    }
    Eigen::Vector2d meanAt(double t) const { return (1 - t) * m0 + t * m1; }
};

double entropy(const tl::DensityGrid& g) {
    double e = 0;
    for (double v : g.values)
        if (v > 0) e += v * std::log(v) * g.cellArea();
    return e;
}

// Checks shared by the 64^2 and 128^2 runs; returns the relative covariance error at t = 0.5.
double checkGeodesic(const tl::eulerian::BenamouBrenierResult& r, const GaussianPair& gp, const char* label) {
    const int nt = r.timeSteps;
    if (static_cast<int>(r.densities.size()) != nt + 1) {
        qWarning("%s: %zu frames", label, r.densities.size());
        return 1e9;
    }
    double worstMass = 0, minValue = 0;
    for (const auto& g : r.densities) {
        double s = 0;
        for (double v : g.values) {
            s += v * g.cellArea();
            minValue = std::min(minValue, v);
        }
        worstMass = std::max(worstMass, std::abs(s - 1));
    }
    Eigen::Vector2d m;
    Eigen::Matrix2d C;
    moments(r.densities[nt / 2], m, C);
    const double covErr = (C - gp.covAt(0.5)).norm() / gp.covAt(0.5).norm();
    const double meanErr = (m - gp.meanAt(0.5)).norm();
    const double energyErr = std::abs(r.kineticEnergy - gp.w2) / gp.w2;
    // The same against the grid's own end densities (Gaussians cut to the box and sampled on cells):
    // W2^2 between the Gaussians with their moments.
    Eigen::Vector2d ma, mb;
    Eigen::Matrix2d Ca, Cb;
    moments(r.densities.front(), ma, Ca);
    moments(r.densities.back(), mb, Cb);
    const Eigen::Matrix2d ra = sqrtm(Ca);
    const double w2Grid = (ma - mb).squaredNorm() + (Ca + Cb - 2 * sqrtm(ra * Cb * ra)).trace();
    const double energyErrGrid = std::abs(r.kineticEnergy - w2Grid) / w2Grid;
    qInfo("%s: kinetic energy %.6f vs W2^2 of the grid's end moments %.6f (%.2e relative)", label, r.kineticEnergy, w2Grid, energyErrGrid);
    qInfo("%s: t = 0.5 covariance error %.2f %%, mean error %.1e; kinetic energy %.5f vs Bures W2^2 %.5f (%.2f %%); "
          "max |mass - 1| %.1e, min density %.1e, clipped %.1e",
          label, 100 * covErr, meanErr, r.kineticEnergy, gp.w2, 100 * energyErr, worstMass, minValue, r.clippedMass);
    qInfo("%s: %d levels, %d coarse + %d full-grid iterations, primal %.1e, dual %.1e, converged %d; %.2f s, %.2f ms per "
          "full-grid iteration, Poisson %.0f %% of the iteration time",
          label, r.levels, r.coarseIterations, r.iterations, r.primalResidual, r.dualResidual, int(r.converged), r.seconds,
          1e3 * r.secondsPerIteration, 100 * r.poissonFraction);
    // Kinetic energy vs Bures W2^2 within 5e-3 relative (observed 9e-4 on 64^2 x 32 and 128^2 x 64
    // alike, and the same against W2^2 of the grid's own end moments: a bias of the discretisation
    // that refining does not remove, so 5e-4 would fail a correct solver).
    if (worstMass > 1e-6 || minValue < 0 || energyErr > 5e-3 || meanErr > 0.02) return 1e9;
    return covErr;
}

}  // namespace

class TestEulerian : public QObject {
    Q_OBJECT

    tl::eulerian::BenamouBrenierResult bb64_;
    GaussianPair gp_;

private slots:
    void initTestCase() {
        const auto g0 = gaussianGrid(64, 4, gp_.m0, gp_.S0), g1 = gaussianGrid(64, 4, gp_.m1, gp_.S1);
        bb64_ = tl::eulerian::benamouBrenier(g0, g1);  // default options: 32 time steps
    }

    void poisson2dEigenfunctionAndOperator() {
        for (int threads : {1, 2}) {
            // square and rectangular grids; u = cos(pi x / Lx) cos(2 pi y / Ly) is a discrete eigenfunction
            for (auto [nx, ny, hx, hy] : {std::tuple{64, 64, 0.125, 0.125}, std::tuple{30, 17, 0.2, 0.35}}) {
                tl::eulerian::NeumannPoisson P(nx, ny, hx, hy, threads);
                QCOMPARE(P.nx(), nx);
                QCOMPARE(P.ny(), ny);
                const std::size_t N = static_cast<std::size_t>(nx) * ny;
                std::vector<double> u(N), f(N), s(N), back(N);
                for (int iy = 0; iy < ny; ++iy)
                    for (int ix = 0; ix < nx; ++ix)
                        u[iy * nx + ix] = std::cos(pi * (ix + 0.5) / nx) * std::cos(2 * pi * (iy + 0.5) / ny);
                P.apply(u.data(), f.data());
                // the exact eigenvalue of the 5-point operator
                const double lam = -4 * std::pow(std::sin(pi / (2 * nx)), 2) / (hx * hx) - 4 * std::pow(std::sin(pi / ny), 2) / (hy * hy);
                double eigErr = 0;
                for (std::size_t i = 0; i < N; ++i) eigErr = std::max(eigErr, std::abs(f[i] - lam * u[i]));
                QVERIFY2(eigErr < 1e-10 * std::abs(lam), qPrintable(QString::number(eigErr)));
                const double mean = P.solve(f.data(), s.data());
                QVERIFY(std::abs(mean) < 1e-12);
                double err = 0;
                for (std::size_t i = 0; i < N; ++i) err = std::max(err, std::abs(s[i] - u[i]));
                QVERIFY2(err < 1e-12, qPrintable(QString::number(err)));
                // random zero-mean data, checked through the operator; the mean is reported and removed
                tl::Rng rng(7);
                double m = 0;
                for (double& v : f) m += (v = rng.normal()) / static_cast<double>(N);
                const double reported = P.solve(f.data(), s.data());
                QVERIFY(std::abs(reported - m) < 1e-12);
                double sm = 0;
                for (double v : s) sm += v;
                QVERIFY(std::abs(sm) < 1e-9);
                P.apply(s.data(), back.data());
                double rerr = 0, fmax = 0;
                for (std::size_t i = 0; i < N; ++i) {
                    rerr = std::max(rerr, std::abs(back[i] - (f[i] - m)));
                    fmax = std::max(fmax, std::abs(f[i]));
                }
                QVERIFY2(rerr < 1e-11 * fmax, qPrintable(QString::number(rerr)));
                if (threads == 1 && nx == 64) qInfo("2-D Poisson 64^2: eigenfunction error %.1e, random data operator error %.1e", err, rerr / fmax);
            }
        }
    }

    void poisson3dEigenfunctionAndOperator() {
        for (int threads : {1, 2}) {
            const int nx = 24, ny = 20, nt = 9;
            const double hx = 0.3, hy = 0.4, ht = 1.0 / nt;
            tl::eulerian::NeumannPoisson3 P(nx, ny, nt, hx, hy, ht, threads);
            const std::size_t N = static_cast<std::size_t>(nx) * ny * nt;
            std::vector<double> u(N), f(N), s(N), back(N);
            for (int k = 0; k < nt; ++k)
                for (int iy = 0; iy < ny; ++iy)
                    for (int ix = 0; ix < nx; ++ix)
                        u[(static_cast<std::size_t>(k) * ny + iy) * nx + ix] =
                            std::cos(pi * (ix + 0.5) / nx) * std::cos(2 * pi * (iy + 0.5) / ny) * std::cos(3 * pi * (k + 0.5) / nt);
            P.apply(u.data(), f.data());
            P.solve(f.data(), s.data());
            double err = 0;
            for (std::size_t i = 0; i < N; ++i) err = std::max(err, std::abs(s[i] - u[i]));
            QVERIFY2(err < 1e-12, qPrintable(QString::number(err)));
            tl::Rng rng(11);
            double m = 0;
            for (double& v : f) m += (v = rng.normal()) / static_cast<double>(N);
            for (double& v : f) v -= m;
            P.solve(f.data(), s.data());
            P.apply(s.data(), back.data());
            double rerr = 0;
            for (std::size_t i = 0; i < N; ++i) rerr = std::max(rerr, std::abs(back[i] - f[i]));
            QVERIFY2(rerr < 1e-10, qPrintable(QString::number(rerr)));
            // the shifted solve: (c - L) u = f
            const double c = 2.5;
            P.solveShifted(f.data(), s.data(), c);
            P.apply(s.data(), back.data());
            double serr = 0;
            for (std::size_t i = 0; i < N; ++i) serr = std::max(serr, std::abs(c * s[i] - back[i] - f[i]));
            QVERIFY2(serr < 1e-10, qPrintable(QString::number(serr)));
            if (threads == 1) qInfo("3-D Poisson 24x20x9: eigenfunction error %.1e, random data operator error %.1e, shifted %.1e", err, rerr, serr);
        }
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::NeumannPoisson3(0, 4, 4, 1, 1, 1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::NeumannPoisson(8, -1.0));
    }

    void fieldsOnTheMixturePath() {
        // rho_t = (1 - t) rho0 + t rho1, d_t rho = rho1 - rho0, at t = 0.5
        const auto g0 = gaussianGrid(64, 4, gp_.m0, gp_.S0), g1 = gaussianGrid(64, 4, gp_.m1, gp_.S1);
        const double h = g0.h();
        std::vector<double> rho(g0.values.size()), dr(rho.size());
        for (std::size_t i = 0; i < rho.size(); ++i) {
            rho[i] = 0.5 * (g0.values[i] + g1.values[i]);
            dr[i] = g1.values[i] - g0.values[i];
        }
        const auto t0 = Clock::now();
        const auto ls = tl::eulerian::leastSquaresField(rho, dr, h);
        const double lsSeconds = secondsSince(t0);
        const auto dm = tl::eulerian::dacorognaMoserField(rho, dr, h);
        QVERIFY(ls.converged);
        QVERIFY(ls.solverResidual < 1e-9);
        QCOMPARE(dm.floorFaces, 0);
        const double resLs = tl::eulerian::continuityResidual(rho, dr, ls);
        const double resDm = tl::eulerian::continuityResidual(rho, dr, dm);
        // Continuity on the faces at the solver's tolerance (observed 8e-11 and 6e-14).
        QVERIFY2(resLs < 1e-9, qPrintable(QString::number(resLs)));
        QVERIFY2(resDm < 1e-9, qPrintable(QString::number(resDm)));
        // least squares has the smaller kinetic energy, on the faces (where it is the exact minimiser) and
        // from the cell-centred fields
        QVERIFY(ls.kineticEnergy <= dm.kineticEnergy);
        const double keLsCells = tl::eulerian::kineticEnergy(rho, ls.vx, ls.vy, h);
        const double keDmCells = tl::eulerian::kineticEnergy(rho, dm.vx, dm.vy, h);
        QVERIFY(keLsCells <= keDmCells);
        // the cell-centred reconstruction (O(h^2)) and Dacorogna–Moser with a density floor, for the record
        const double cellLs = tl::eulerian::continuityResidualCells(rho, dr, ls.vx, ls.vy, h);
        const double cellDm = tl::eulerian::continuityResidualCells(rho, dr, dm.vx, dm.vy, h);
        tl::eulerian::DacorognaMoserOptions floored;
        floored.relativeFloor = 1e-6;
        const auto dmf = tl::eulerian::dacorognaMoserField(rho, dr, h, floored);
        const double resDmf = tl::eulerian::continuityResidual(rho, dr, dmf);
        qInfo("mixture path t = 0.5, 64^2: least squares %d PCG iterations (%.1f ms), continuity residual %.1e (faces), %.1e (cells); "
              "Dacorogna-Moser %.1e (faces), %.1e (cells)",
              ls.iterations, 1e3 * lsSeconds, resLs, cellLs, resDm, cellDm);
        qInfo("kinetic energy int |v|^2 d rho: least squares %.4f (faces) %.4f (cells), Dacorogna-Moser %.3g (faces) %.3g (cells); "
              "Dacorogna-Moser with v = 0 where rho <= 1e-6 max: %d faces, residual %.2f",
              ls.kineticEnergy, keLsCells, dm.kineticEnergy, keDmCells, dmf.floorFaces, resDmf);
        floored.throwBelowFloor = true;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::dacorognaMoserField(rho, dr, h, floored));
    }

    // Issue 18 §3, both fields checked at the solvers' precision on a 16^2 grid with a density floor
    // (2 % of the peak everywhere: both energies finite, so the comparison can fail):
    // - least-squares minimality, directly: a discrete divergence-free face flux dF (from a seeded
    //   stream function on the grid nodes, zero on the boundary) leaves continuity unchanged, and the
    //   kinetic energy of v_LS + s dF / rho_face is E(v_LS) + s^2 E(dv): the cross term
    //   sum rho_face v_LS dv h^2 vanishes (observed ~1e-12 of sqrt(E(v_LS) E(dv)), asserted 1e-8);
    // - Dacorogna-Moser against an independent dense solve written here: the 256 x 256 Neumann
    //   Laplacian matrix, (L + 1 1^T / N) psi = -d_t rho by Eigen's LU, v_face = grad psi / rho_face:
    //   faces within 1e-10 of the largest, energies within 1e-10 relative; E(LS) < E(DM).
    void leastSquaresMinimalAndDacorognaMoserAgainstADenseSolve() {
        const int n = 16;
        const auto g0 = gaussianGrid(n, 4, gp_.m0, gp_.S0), g1 = gaussianGrid(n, 4, gp_.m1, gp_.S1);
        const double h = g0.h();
        const std::size_t N = static_cast<std::size_t>(n) * n;
        std::vector<double> rho(N), dr(N);
        double peak = 0;
        for (std::size_t i = 0; i < N; ++i) peak = std::max(peak, 0.5 * (g0.values[i] + g1.values[i]));
        for (std::size_t i = 0; i < N; ++i) {
            rho[i] = 0.5 * (g0.values[i] + g1.values[i]) + 0.02 * peak;
            dr[i] = g1.values[i] - g0.values[i];
        }
        const auto ls = tl::eulerian::leastSquaresField(rho, dr, h);
        const auto dm = tl::eulerian::dacorognaMoserField(rho, dr, h);
        QVERIFY(ls.converged);
        QCOMPARE(dm.floorFaces, 0);
        auto at = [&](int ix, int iy) { return rho[static_cast<std::size_t>(iy) * n + ix]; };
        // face densities (the mean of the two cells), layouts of VelocityField::faceX / faceY
        std::vector<double> rx((n + 1) * n, 0.0), ry(n * (n + 1), 0.0);
        for (int iy = 0; iy < n; ++iy)
            for (int ix = 1; ix < n; ++ix) rx[iy * (n + 1) + ix] = 0.5 * (at(ix - 1, iy) + at(ix, iy));
        for (int iy = 1; iy < n; ++iy)
            for (int ix = 0; ix < n; ++ix) ry[iy * n + ix] = 0.5 * (at(ix, iy - 1) + at(ix, iy));
        auto energy = [&](const std::vector<double>& fx, const std::vector<double>& fy) {
            double e = 0;
            for (std::size_t k = 0; k < fx.size(); ++k) e += rx[k] * fx[k] * fx[k] * h * h;
            for (std::size_t k = 0; k < fy.size(); ++k) e += ry[k] * fy[k] * fy[k] * h * h;
            return e;
        };
        QVERIFY(std::abs(energy(ls.faceX, ls.faceY) - ls.kineticEnergy) < 1e-12 * ls.kineticEnergy);

        // a divergence-free flux from a stream function on the (n + 1)^2 nodes, 0 on the boundary
        tl::Rng rng(12);
        std::vector<double> psi((n + 1) * (n + 1), 0.0);
        for (int j = 1; j < n; ++j)
            for (int i = 1; i < n; ++i) psi[j * (n + 1) + i] = rng.normal();
        auto node = [&](int i, int j) { return psi[j * (n + 1) + i]; };
        std::vector<double> dvx((n + 1) * n, 0.0), dvy(n * (n + 1), 0.0);
        for (int iy = 0; iy < n; ++iy)
            for (int ix = 1; ix < n; ++ix) dvx[iy * (n + 1) + ix] = (node(ix, iy + 1) - node(ix, iy)) / h / rx[iy * (n + 1) + ix];
        for (int iy = 1; iy < n; ++iy)
            for (int ix = 0; ix < n; ++ix) dvy[iy * n + ix] = -(node(ix + 1, iy) - node(ix, iy)) / h / ry[iy * n + ix];
        double cross = 0;
        for (std::size_t k = 0; k < dvx.size(); ++k) cross += rx[k] * ls.faceX[k] * dvx[k] * h * h;
        for (std::size_t k = 0; k < dvy.size(); ++k) cross += ry[k] * ls.faceY[k] * dvy[k] * h * h;
        const double eLs = ls.kineticEnergy, eDv = energy(dvx, dvy);
        const double crossRel = std::abs(cross) / std::sqrt(eLs * eDv);
        const double resLs = tl::eulerian::continuityResidual(rho, dr, ls);
        double worstResidual = 0, worstGain = 1e300;
        for (double sc : {-1.0, -0.01, 0.01, 1.0}) {
            const double s = sc * std::sqrt(eLs / eDv);
            std::vector<double> fx = ls.faceX, fy = ls.faceY;
            for (std::size_t k = 0; k < fx.size(); ++k) fx[k] += s * dvx[k];
            for (std::size_t k = 0; k < fy.size(); ++k) fy[k] += s * dvy[k];
            worstResidual = std::max(worstResidual, tl::eulerian::continuityResidualFaces(rho, dr, fx, fy, h));
            worstGain = std::min(worstGain, (energy(fx, fy) - eLs) / (s * s * eDv));
        }
        qInfo("least squares on 16^2: continuity %.1e, perturbed %.1e; cross term %.1e of sqrt(E E_dv); energy gain / (s^2 E_dv) >= %.12f",
              resLs, worstResidual, crossRel, worstGain);
        QVERIFY2(worstResidual < 1e-9, qPrintable(QString::number(worstResidual)));  // dF is divergence-free
        QVERIFY2(crossRel < 1e-8, qPrintable(QString::number(crossRel)));
        QVERIFY2(std::abs(worstGain - 1) < 1e-6, qPrintable(QString::number(worstGain, 'g', 12)));

        // Dacorogna-Moser by a dense solve of the same discrete equations
        Eigen::MatrixXd L = Eigen::MatrixXd::Zero(N, N);
        for (int iy = 0; iy < n; ++iy)
            for (int ix = 0; ix < n; ++ix) {
                const int c = iy * n + ix;
                for (auto [dx, dy] : {std::pair{1, 0}, std::pair{-1, 0}, std::pair{0, 1}, std::pair{0, -1}}) {
                    const int jx = ix + dx, jy = iy + dy;
                    if (jx < 0 || jx >= n || jy < 0 || jy >= n) continue;  // Neumann: no flux through the box
                    L(c, jy * n + jx) += 1 / (h * h);
                    L(c, c) -= 1 / (h * h);
                }
            }
        Eigen::VectorXd f(N);
        double mean = 0;
        for (std::size_t i = 0; i < N; ++i) mean += dr[i] / N;
        for (std::size_t i = 0; i < N; ++i) f[static_cast<Eigen::Index>(i)] = -(dr[i] - mean);
        const Eigen::VectorXd p = (L + Eigen::MatrixXd::Constant(N, N, 1.0 / N)).partialPivLu().solve(f);
        std::vector<double> fx((n + 1) * n, 0.0), fy(n * (n + 1), 0.0);
        for (int iy = 0; iy < n; ++iy)
            for (int ix = 1; ix < n; ++ix) fx[iy * (n + 1) + ix] = (p[iy * n + ix] - p[iy * n + ix - 1]) / h / rx[iy * (n + 1) + ix];
        for (int iy = 1; iy < n; ++iy)
            for (int ix = 0; ix < n; ++ix) fy[iy * n + ix] = (p[iy * n + ix] - p[(iy - 1) * n + ix]) / h / ry[iy * n + ix];
        double worstFace = 0, largest = 0;
        for (std::size_t k = 0; k < fx.size(); ++k) {
            worstFace = std::max(worstFace, std::abs(fx[k] - dm.faceX[k]));
            largest = std::max(largest, std::abs(fx[k]));
        }
        for (std::size_t k = 0; k < fy.size(); ++k) {
            worstFace = std::max(worstFace, std::abs(fy[k] - dm.faceY[k]));
            largest = std::max(largest, std::abs(fy[k]));
        }
        const double eDense = energy(fx, fy);
        qInfo("Dacorogna-Moser on 16^2 vs a dense solve: faces within %.1e of the largest %.3g; energy %.10g vs %.10g; least squares %.10g",
              worstFace / largest, largest, dm.kineticEnergy, eDense, eLs);
        QVERIFY2(worstFace < 1e-10 * largest, qPrintable(QString::number(worstFace / largest)));
        QVERIFY2(std::abs(dm.kineticEnergy - eDense) < 1e-10 * eDense, qPrintable(QString::number(dm.kineticEnergy - eDense)));
        QVERIFY(eLs < dm.kineticEnergy);
    }

    void leastSquaresRecoversATranslation() {
        // d_t rho = -c . grad rho (the face-averaged central difference): the constant field c is a gradient
        // and satisfies the discrete continuity equation exactly, so it is the least-squares field
        const auto g = gaussianGrid(48, 4, gp_.m0, gp_.S0);
        const int n = g.cells;
        const double h = g.h(), cx = 0.7, cy = -0.4;
        std::vector<double> dr(g.values.size(), 0.0);
        for (int iy = 0; iy < n; ++iy)
            for (int ix = 0; ix < n; ++ix) {
                const auto at = [&](int x, int y) { return g.values[static_cast<std::size_t>(y) * n + x]; };
                const double fxp = ix + 1 < n ? 0.5 * (at(ix, iy) + at(ix + 1, iy)) : 0.0;
                const double fxm = ix > 0 ? 0.5 * (at(ix - 1, iy) + at(ix, iy)) : 0.0;
                const double fyp = iy + 1 < n ? 0.5 * (at(ix, iy) + at(ix, iy + 1)) : 0.0;
                const double fym = iy > 0 ? 0.5 * (at(ix, iy - 1) + at(ix, iy)) : 0.0;
                dr[static_cast<std::size_t>(iy) * n + ix] = -(cx * (fxp - fxm) + cy * (fyp - fym)) / h;
            }
        const auto ls = tl::eulerian::leastSquaresField(g.values, dr, h);
        QVERIFY(ls.converged);
        // (the boundary cells average an interior face with a closed boundary face: c / 2 there)
        double err = 0, mass = 0;
        for (int iy = 1; iy + 1 < n; ++iy)
            for (int ix = 1; ix + 1 < n; ++ix) {
                const std::size_t i = static_cast<std::size_t>(iy) * n + ix;
                err += g.values[i] * std::hypot(ls.vx[i] - cx, ls.vy[i] - cy);
                mass += g.values[i];
            }
        err /= mass;
        qInfo("translation: mean |v - c| over rho = %.1e (%d PCG iterations)", err, ls.iterations);
        QVERIFY2(err < 1e-6, qPrintable(QString::number(err)));
    }

    void benamouBrenierGaussians() {
        const double covErr = checkGeodesic(bb64_, gp_, "Benamou-Brenier 64^2 x 32");
        QVERIFY2(covErr < 0.05, qPrintable(QString::number(covErr)));
        QCOMPARE(bb64_.timeSteps, 32);
        QCOMPARE(bb64_.times.front(), 0.0);
        QCOMPARE(bb64_.times.back(), 1.0);
        QVERIFY(bb64_.converged);
        // mean velocity at t = 0.5 is m1 - m0 (particles on straight lines at constant speed)
        Eigen::Vector2d mv(0, 0);
        const auto& g = bb64_.densities[16];
        for (std::size_t i = 0; i < g.values.size(); ++i)
            mv += g.cellArea() * Eigen::Vector2d(bb64_.momentumX[16][i], bb64_.momentumY[16][i]);
        const double mvErr = (mv - (gp_.m1 - gp_.m0)).norm() / (gp_.m1 - gp_.m0).norm();
        qInfo("Benamou-Brenier: mean momentum at t = 0.5 vs m1 - m0: %.2f %%", 100 * mvErr);
        QVERIFY(mvErr < 0.02);
        // the covariance all along the path
        double worst = 0;
        for (int k = 0; k <= 32; k += 4) {
            Eigen::Vector2d m;
            Eigen::Matrix2d C;
            moments(bb64_.densities[k], m, C);
            worst = std::max(worst, (C - gp_.covAt(bb64_.times[k])).norm() / gp_.covAt(bb64_.times[k]).norm());
        }
        qInfo("Benamou-Brenier: worst covariance error over t = 0, 1/8, ..., 1: %.2f %%", 100 * worst);
        QVERIFY(worst < 0.05);
        // Its speed (target <= 3 s) is a benchmark's business: transportlab-bench benamou, not a timed test.
        qInfo("Benamou-Brenier 64^2 x 32: %.2f s", bb64_.seconds);
    }

    void mccannEntropyConvexity() {
        std::vector<double> E;
        for (const auto& g : bb64_.densities) E.push_back(entropy(g));
        const double range = *std::max_element(E.begin(), E.end()) - *std::min_element(E.begin(), E.end());
        double worst = 1e300;
        for (std::size_t k = 1; k + 1 < E.size(); ++k) worst = std::min(worst, (E[k + 1] - 2 * E[k] + E[k - 1]) / range);
        // the closed form: int rho log rho = -log det((1 - t) I + t A) + E(0)
        const double exact = -std::log(gp_.A.determinant());
        qInfo("McCann: entropy from %.4f to %.4f (closed-form change %.4f, grid %.4f), min second difference / range %.2e",
              E.front(), E.back(), exact, E.back() - E.front(), worst);
        QVERIFY2(worst >= -1e-6, qPrintable(QString::number(worst)));
    }

    void benamouBrenierLargeGridWithProgress() {
        const auto g0 = gaussianGrid(128, 4, gp_.m0, gp_.S0), g1 = gaussianGrid(128, 4, gp_.m1, gp_.S1);
        tl::eulerian::BenamouBrenierOptions opt;
        opt.timeSteps = 64;
        int calls = 0, last = 0;
        bool monotone = true, finite = true;
        opt.progress = [&](int it, double primal, double dual) {
            ++calls;
            monotone = monotone && it == last + 1;
            last = it;
            finite = finite && std::isfinite(primal) && std::isfinite(dual);
            return true;
        };
        const auto r = tl::eulerian::benamouBrenier(g0, g1, opt);
        QVERIFY(!r.cancelled);
        QVERIFY(monotone && finite);
        QCOMPARE(calls, r.iterations + r.coarseIterations);
        QCOMPARE(static_cast<int>(r.densities.size()), 65);
        const double covErr = checkGeodesic(r, gp_, "Benamou-Brenier 128^2 x 64");
        QVERIFY2(covErr < 0.05, qPrintable(QString::number(covErr)));
    }

    void benamouBrenierCancels() {
        const auto g0 = gaussianGrid(128, 4, gp_.m0, gp_.S0), g1 = gaussianGrid(128, 4, gp_.m1, gp_.S1);
        tl::eulerian::BenamouBrenierOptions opt;
        opt.timeSteps = 64;
        // at the first iteration
        int calls = 0;
        opt.progress = [&](int, double, double) {
            ++calls;
            return false;
        };
        auto r = tl::eulerian::benamouBrenier(g0, g1, opt);
        QVERIFY(r.cancelled);
        QCOMPARE(calls, 1);
        QVERIFY(r.densities.empty());
        // after a while (on the full grid by then, most likely): it returns within a fraction of a second
        Clock::time_point asked{};
        const auto start = Clock::now();
        opt.progress = [&](int, double, double) {
            if (secondsSince(start) < 0.8) return true;
            asked = Clock::now();
            return false;
        };
        r = tl::eulerian::benamouBrenier(g0, g1, opt);
        const double lag = secondsSince(asked);
        qInfo("cancel at %.2f s (%d coarse + %d full-grid iterations): returned %.3f s later", secondsSince(start) - lag,
              r.coarseIterations, r.iterations, lag);
        QVERIFY(r.cancelled);
        QVERIFY(r.densities.empty());
        QVERIFY2(lag < 0.5, qPrintable(QString::number(lag)));
    }

    void badInput() {
        const auto g0 = gaussianGrid(16, 4, gp_.m0, gp_.S0);
        auto g1 = gaussianGrid(16, 3, gp_.m1, gp_.S1);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::benamouBrenier(g0, g1));  // different extents
        g1 = gaussianGrid(16, 4, gp_.m1, gp_.S1);
        g1.values[5] = -1;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::benamouBrenier(g0, g1));
        g1 = gaussianGrid(16, 4, gp_.m1, gp_.S1);
        tl::eulerian::BenamouBrenierOptions opt;
        opt.relaxation = 2;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::benamouBrenier(g0, g1, opt));
        std::vector<double> rho(17, 1.0), dr(17, 0.0);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::leastSquaresField(rho, dr, 0.1));  // not n x n
        rho.assign(16, 0.0);
        dr.assign(16, 0.0);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::eulerian::dacorognaMoserField(rho, dr, 0.1));  // no mass
        // an odd grid runs without the multilevel warm start
        const auto o0 = gaussianGrid(21, 4, gp_.m0, gp_.S0), o1 = gaussianGrid(21, 4, gp_.m1, gp_.S1);
        opt = {};
        opt.timeSteps = 8;
        const auto r = tl::eulerian::benamouBrenier(o0, o1, opt);
        QCOMPARE(r.levels, 1);
        QCOMPARE(static_cast<int>(r.densities.size()), 9);
        QVERIFY(std::isfinite(r.kineticEnergy));
    }
};

QTEST_GUILESS_MAIN(TestEulerian)
#include "tst_eulerian.moc"
