// Tests the all-pairs interaction forces tl::gf::pairForces (SIMD, threaded) and pairEnergy
// (science.md §4 (17)-(18)): against the scalar reference, against the energy's numerical gradient
// (out_i = dE/dx_i / w_i, so the force -out_i is minus it), coincident points, and the ring equilibrium of
// W = |z|^4/4 - |z|^2/2 (radius 1/sqrt 3).
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <vector>

#include "simd_rows.h"
#include "gradient_flows/pair_forces.h"
#include "util/error.h"
#include "util/rng.h"

namespace gf = tl::gf;

namespace {

// The kernels under test: the two named ones, a non-integer pair of exponents (hwy Exp/Log path)
// and a half-integer pair (sqrt + division path: pa = 1.5, pb = -0.5).
gf::PairKernel kernelByName(const QString& name) {
    if (name == "ar42") return gf::attractiveRepulsive(4, 2);
    if (name == "qlog") return gf::quadraticLog();
    if (name == "ar33-17") return gf::attractiveRepulsive(3.3, 1.7);
    return gf::attractiveRepulsive(5, 1);  // "ar51"
}
const char* const kKernels[] = {"ar42", "qlog", "ar33-17", "ar51"};

struct Cloud {
    int dim;
    std::size_t n;
    std::vector<double> x, w;
};

// Points ~ N(offset, 0.7^2 I) (the offset checks that only differences matter), weights random
// positive with sum 1 (uniform = true: 1/n).
Cloud makeCloud(int dim, std::size_t n, std::uint64_t seed, bool uniform = false) {
    tl::Rng rng(seed);
    const double off[3] = {2.0, -1.0, 0.5};
    Cloud c{dim, n, {}, {}};
    for (std::size_t i = 0; i < n * dim; ++i) c.x.push_back(off[i % dim] + 0.7 * rng.normal());
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        c.w.push_back(uniform ? 1.0 : rng.uniform(0.2, 1.0));
        s += c.w.back();
    }
    for (auto& v : c.w) v /= s;
    return c;
}

// scale[i] = sum_j w_j |g(r2_ij)| |x_i - x_j|: the magnitude of the terms of row i. The sum itself
// can cancel to far below it, so rounding (summation order, a few ulp per term) is bounded by a
// multiple of u * scale, not of |out_i|; "1e-12 relative" is measured against this.
std::vector<double> rowScales(const Cloud& c, const gf::PairKernel& k) {
    std::vector<double> s(c.n, 0.0);
    for (std::size_t i = 0; i < c.n; ++i)
        for (std::size_t j = 0; j < c.n; ++j) {
            double r2 = 0;
            for (int d = 0; d < c.dim; ++d) r2 += std::pow(c.x[i * c.dim + d] - c.x[j * c.dim + d], 2);
            if (r2 < 1e-300) continue;
            s[i] += c.w[j] * std::abs(k.ca * std::pow(r2, k.pa) - k.cb * std::pow(r2, k.pb)) * std::sqrt(r2);
        }
    return s;
}

constexpr double kRel = 1e-12;

}  // namespace

class TestPairForces : public QObject {
    Q_OBJECT

private:
    double worstRel_ = 0;   // max |simd - reference| / scale_i seen
    double worstGrad_ = 0;  // max |w_i out_i - dE/dx_i| / scale seen

private slots:
    // Every test function once per SIMD target of this CPU (tests/common/simd_rows.h).
    void initTestCase_data() { tltest::simdRows(); }
    void init() {
        tltest::useSimdRow();
        QFETCH_GLOBAL(QString, simd);
        QCOMPARE(QString::fromStdString(gf::pairForcesTargetName()), simd);  // the pair kernels too
    }

    void initTestCase() { qInfo() << "SIMD target:" << gf::pairForcesTargetName().c_str(); }

    void kernelParameters() {
        const auto ar = gf::attractiveRepulsive(4, 2);
        QCOMPARE(ar.ca, 1.0);
        QCOMPARE(ar.pa, 1.0);
        QCOMPARE(ar.cb, 1.0);
        QCOMPARE(ar.pb, 0.0);
        const auto ql = gf::quadraticLog();
        QCOMPARE(ql.pa, 0.0);
        QCOMPARE(ql.pb, -1.0);
        const auto same = gf::attractiveRepulsive(2, 0);  // |z|^0/0 is read as ln|z|: the same kernel
        QCOMPARE(same.pa, ql.pa);
        QCOMPARE(same.pb, ql.pb);
        const gf::PairKernel def;
        QCOMPARE(def.pa, ar.pa);
        QCOMPARE(def.pb, ar.pb);
    }

    // SIMD vs the scalar reference, every dimension, sizes that exercise the row padding (n not a
    // multiple of the row block) and the masked tail vector (n not a multiple of the lanes).
    void simdVsReference_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<QString>("kernel");
        for (int dim = 1; dim <= 3; ++dim)
            for (int n : {1, 7, 33, 1000})
                for (const char* k : kKernels) QTest::addRow("d%d n%d %s", dim, n, k) << dim << n << QString(k);
    }
    void simdVsReference() {
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(QString, kernel);
        const auto k = kernelByName(kernel);
        const Cloud c = makeCloud(dim, n, 100 * dim + n);
        std::vector<double> out(n * dim, -7.0), ref(n * dim, -7.0);
        gf::pairForces(dim, c.x.data(), c.w.data(), c.n, k, out.data(), 2);
        gf::reference::pairForces(dim, c.x.data(), c.w.data(), c.n, k, ref.data());
        const auto scale = rowScales(c, k);
        for (int i = 0; i < n; ++i)
            for (int d = 0; d < dim; ++d) {
                const double o = out[i * dim + d], r = ref[i * dim + d];
                QVERIFY2(std::isfinite(o), qPrintable(QString("row %1: %2").arg(i).arg(o)));
                const double e = std::abs(o - r);
                const double rel = scale[i] > 0 ? e / scale[i] : e;
                worstRel_ = std::max(worstRel_, rel);
                QVERIFY2(rel <= kRel, qPrintable(QString("row %1 coord %2: %3 vs reference %4 (scale %5)")
                                                     .arg(i).arg(d).arg(o, 0, 'g', 17).arg(r, 0, 'g', 17).arg(scale[i])));
            }
        if (n == 1)
            for (double o : out) QCOMPARE(o, 0.0);  // only the self pair, which contributes 0
        // Action = reaction (W even): sum_i w_i out_i = 0 up to rounding of the terms.
        for (int d = 0; d < dim; ++d) {
            double net = 0, mag = 0;
            for (int i = 0; i < n; ++i) {
                net += c.w[i] * out[i * dim + d];
                mag += c.w[i] * scale[i];
            }
            QVERIFY2(std::abs(net) <= 1e-12 * std::max(mag, 1e-300) + 1e-300, qPrintable(QString::number(net)));
        }
    }

    // threads = 1, 2 and 0 (all) give bit-identical forces (rows are independent), and the
    // energy is thread-independent too (row sums reduced in index order).
    void threadsIdentical() {
        for (int dim = 1; dim <= 3; ++dim) {
            const Cloud c = makeCloud(dim, 1001, 7 + dim);
            const auto k = gf::attractiveRepulsive(4, 2);
            std::vector<double> o1(c.n * dim), o2(c.n * dim), o0(c.n * dim);
            gf::pairForces(dim, c.x.data(), c.w.data(), c.n, k, o1.data(), 1);
            gf::pairForces(dim, c.x.data(), c.w.data(), c.n, k, o2.data(), 2);
            gf::pairForces(dim, c.x.data(), c.w.data(), c.n, k, o0.data(), 0);
            QVERIFY(std::memcmp(o1.data(), o2.data(), o1.size() * sizeof(double)) == 0);
            QVERIFY(std::memcmp(o1.data(), o0.data(), o1.size() * sizeof(double)) == 0);
            const double e1 = gf::pairEnergy(dim, c.x.data(), c.w.data(), c.n, k, 1);
            const double e2 = gf::pairEnergy(dim, c.x.data(), c.w.data(), c.n, k, 2);
            QCOMPARE(e1, e2);
        }
    }

    // Coincident points (and pairs closer than sqrt(1e-300)) contribute 0: finite output even for
    // kernels singular at 0, equal to the reference; a cloud of identical points feels no force.
    void coincidentPoints_data() {
        QTest::addColumn<QString>("kernel");
        for (const char* k : kKernels) QTest::newRow(k) << QString(k);
    }
    void coincidentPoints() {
        QFETCH(QString, kernel);
        const auto k = kernelByName(kernel);
        for (int dim = 1; dim <= 3; ++dim) {
            Cloud c = makeCloud(dim, 19, 55 + dim);
            for (int d = 0; d < dim; ++d) {
                c.x[5 * dim + d] = c.x[2 * dim + d];   // exact duplicates
                c.x[11 * dim + d] = c.x[2 * dim + d];
                c.x[17 * dim + d] = c.x[3 * dim + d];
            }
            c.x[18 * dim] = c.x[4 * dim] + 1e-160;      // r2 = 1e-320 < 1e-300: masked
            for (int d = 1; d < dim; ++d) c.x[18 * dim + d] = c.x[4 * dim + d];
            std::vector<double> out(c.n * dim), ref(c.n * dim);
            gf::pairForces(dim, c.x.data(), c.w.data(), c.n, k, out.data(), 1);
            gf::reference::pairForces(dim, c.x.data(), c.w.data(), c.n, k, ref.data());
            const auto scale = rowScales(c, k);
            for (std::size_t i = 0; i < c.n; ++i)
                for (int d = 0; d < dim; ++d) {
                    QVERIFY(std::isfinite(out[i * dim + d]));
                    QVERIFY(std::abs(out[i * dim + d] - ref[i * dim + d]) <= kRel * scale[i]);
                }
            QVERIFY(std::isfinite(gf::pairEnergy(dim, c.x.data(), c.w.data(), c.n, k, 1)));
            const std::vector<double> same(40 * dim, 0.375);
            std::vector<double> zero(40 * dim, -1.0);
            gf::pairForces(dim, same.data(), nullptr, 40, k, zero.data(), 2);
            for (double z : zero) QCOMPARE(z, 0.0);
            QCOMPARE(gf::pairEnergy(dim, same.data(), nullptr, 40, k, 2), 0.0);
        }
    }

    // out_i is the gradient of the energy: d/dx_i E = w_i sum_j w_j grad W(x_i - x_j) = w_i out_i
    // (W even, each pair counted once with weight w_i w_j). Central differences of pairEnergy with
    // Richardson extrapolation, (4 D(h/2) - D(h)) / 3, error O(h^4); h = 1e-3 on an O(1) cloud.
    void forceIsEnergyGradient_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<QString>("kernel");
        QTest::addColumn<bool>("uniform");
        for (int dim = 1; dim <= 3; ++dim)
            for (const char* k : kKernels) {
                QTest::addRow("d%d %s uniform", dim, k) << dim << QString(k) << true;
                QTest::addRow("d%d %s weighted", dim, k) << dim << QString(k) << false;
            }
    }
    void forceIsEnergyGradient() {
        QFETCH(int, dim);
        QFETCH(QString, kernel);
        QFETCH(bool, uniform);
        const auto k = kernelByName(kernel);
        Cloud c = makeCloud(dim, 30, 900 + dim, uniform);
        // Keep the probed particle away from the others (the singular kernels vary on the scale of
        // the nearest distance; 0.3 keeps the O(h^4) term far below the tolerance).
        const std::size_t i = 3;
        for (int d = 0; d < dim; ++d) c.x[i * dim + d] = (d == 0 ? 2.0 : d == 1 ? -1.0 : 0.5) + 0.1 * (d + 1);
        for (std::size_t j = 0; j < c.n; ++j) {
            if (j == i) continue;
            double r2 = 0;
            for (int d = 0; d < dim; ++d) r2 += std::pow(c.x[j * dim + d] - c.x[i * dim + d], 2);
            if (r2 < 0.09) c.x[j * dim] += 0.6;  // push close points away
        }
        std::vector<double> out(c.n * dim);
        gf::pairForces(dim, c.x.data(), c.w.data(), c.n, k, out.data(), 2);
        const auto scale = rowScales(c, k);
        auto energyAt = [&](int d, double delta) {
            Cloud m = c;
            m.x[i * dim + d] += delta;
            return gf::pairEnergy(dim, m.x.data(), m.w.data(), m.n, k, 1);
        };
        const double h = 1e-3;
        for (int d = 0; d < dim; ++d) {
            const double d1 = (energyAt(d, h) - energyAt(d, -h)) / (2 * h);
            const double d2 = (energyAt(d, h / 2) - energyAt(d, -h / 2)) / h;
            const double grad = (4 * d2 - d1) / 3;
            const double want = c.w[i] * out[i * dim + d];
            const double rel = std::abs(grad - want) / (c.w[i] * scale[i]);
            worstGrad_ = std::max(worstGrad_, rel);
            QVERIFY2(rel < 1e-9, qPrintable(QString("coord %1: dE/dx %2 vs w_i out_i %3 (rel %4)").arg(d).arg(grad, 0, 'g', 15).arg(want, 0, 'g', 15).arg(rel)));
        }
    }

    // The energy against a direct formula: two points at distance r, weights w1, w2:
    // E = w1 w2 W(r) with W = r^a/a - r^b/b, or r^2/2 - ln r for quadratic-log.
    void energyTwoPoints() {
        const double x[] = {0.25, -0.5, 1.0, 0.4, 0.3, 1.2};  // two 3-D points
        const double w[] = {0.3, 0.7};
        const double r = std::sqrt(0.15 * 0.15 + 0.8 * 0.8 + 0.2 * 0.2);
        const double ar = gf::pairEnergy(3, x, w, 2, gf::attractiveRepulsive(4, 2), 1);
        QVERIFY(std::abs(ar - 0.21 * (std::pow(r, 4) / 4 - r * r / 2)) < 1e-15);
        const double ql = gf::pairEnergy(3, x, w, 2, gf::quadraticLog(), 1);
        QVERIFY(std::abs(ql - 0.21 * (r * r / 2 - std::log(r))) < 1e-15);
        const double gen = gf::pairEnergy(3, x, w, 2, gf::attractiveRepulsive(3.3, 1.7), 1);
        QVERIFY(std::abs(gen - 0.21 * (std::pow(r, 3.3) / 3.3 - std::pow(r, 1.7) / 1.7)) < 1e-15);
        QCOMPARE(gf::pairEnergy(3, x, w, 1, gf::quadraticLog(), 1), 0.0);  // one point: no pairs
    }

    // W = |z|^4/4 - |z|^2/2 in 2-D (g = r2 - 1): on N equally spaced points of a circle of radius R
    // (w = 1/N, N >= 3) the force on each point is exactly radial, R (3 R^2 - 1) e_r
    // (mean of 1 - cos = 1, of (1 - cos)^2 = 3/2), so the ring of radius 1/sqrt(3) is an
    // equilibrium; smaller rings are pushed out (velocity -out points outward), larger ones pulled in.
    void ringEquilibrium() {
        const std::size_t n = 2000;
        const auto k = gf::attractiveRepulsive(4, 2);
        for (double R : {1 / std::sqrt(3.0), 0.3, 1.0}) {
            std::vector<double> x(2 * n), out(2 * n);
            for (std::size_t j = 0; j < n; ++j) {
                const double t = 2 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(n);
                x[2 * j] = R * std::cos(t);
                x[2 * j + 1] = R * std::sin(t);
            }
            gf::pairForces(2, x.data(), nullptr, n, k, out.data(), 2);
            const double want = R * (3 * R * R - 1);
            double worst = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double ex = x[2 * i] / R, ey = x[2 * i + 1] / R;
                const double radial = out[2 * i] * ex + out[2 * i + 1] * ey;
                const double tangential = -out[2 * i] * ey + out[2 * i + 1] * ex;
                worst = std::max({worst, std::abs(radial - want), std::abs(tangential)});
            }
            QVERIFY2(worst < 1e-13, qPrintable(QString("R = %1: deviation %2").arg(R).arg(worst)));
        }
    }

    void invalidArguments() {
        const double x[] = {0, 0, 0, 0};
        double out[4] = {5, 5, 5, 5};
        const gf::PairKernel k;
        QVERIFY_THROWS_EXCEPTION(tl::Error, gf::pairForces(0, x, nullptr, 1, k, out, 1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, gf::pairForces(4, x, nullptr, 1, k, out, 1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, gf::pairEnergy(4, x, nullptr, 1, k, 1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, gf::reference::pairForces(0, x, nullptr, 1, k, out));
        gf::pairForces(2, x, nullptr, 0, k, out, 1);  // n == 0: nothing to do, out untouched
        for (double o : out) QCOMPARE(o, 5.0);
    }

    void cleanupTestCase() {
        qInfo("worst |simd - reference| / row scale %.3g (limit %g); worst gradient mismatch / scale %.3g (limit 1e-9)", worstRel_, kRel,
              worstGrad_);
    }
};

QTEST_GUILESS_MAIN(TestPairForces)
#include "tst_pair_forces.moc"
