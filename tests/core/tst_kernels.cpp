// Tests the kernel-reduction engine tl::kernels::logSumExp / softmaxWeightedSum (SIMD, threaded).
// Checked against tl::kernels::reference (scalar, exact max, long double sums), a direct std::exp sum, and invariants.
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "simd_rows.h"
#include "kernels/reduce.h"
#include "util/error.h"
#include "util/parallel.h"
#include "util/rng.h"

namespace tk = tl::kernels;

namespace {

enum HMode { NoH = 0, FiniteH = 1, SomeNegInfH = 2 };

template <class T>
struct Case {
    int dim;
    std::size_t n, m;
    std::vector<T> x, y, h, v;
    T scale;
    int vdim;
    bool useH;
    tk::PairSet<T> set() const { return {dim, x.data(), n, y.data(), m, useH ? h.data() : nullptr, scale}; }
};

// Points uniform in [-1, 1]^d around an offset (so the engine's centring matters), h of the size
// of the cost terms (as in Sinkhorn, where h = g / eps), values in [-2, 2].
template <class T>
Case<T> makeCase(int dim, std::size_t n, std::size_t m, int vdim, int hmode, double scale, std::uint64_t seed) {
    tl::Rng rng(seed);
    const double off[3] = {3.0, -2.0, 0.5};
    Case<T> c;
    c.dim = dim;
    c.n = n;
    c.m = m;
    c.scale = static_cast<T>(scale);
    c.vdim = vdim;
    c.useH = hmode != NoH;
    for (std::size_t i = 0; i < n * dim; ++i) c.x.push_back(static_cast<T>(off[i % dim] + rng.uniform(-1, 1)));
    for (std::size_t j = 0; j < m * dim; ++j) c.y.push_back(static_cast<T>(off[j % dim] + rng.uniform(-1, 1)));
    for (std::size_t j = 0; j < m; ++j) {
        T hj = static_cast<T>(rng.uniform(-1, 1) * std::max(1.0, 0.5 * scale));
        if (hmode == SomeNegInfH && j % 3 == 1) hj = -std::numeric_limits<T>::infinity();
        c.h.push_back(hj);
    }
    for (std::size_t k = 0; k < m * vdim; ++k) c.v.push_back(static_cast<T>(rng.uniform(-2, 2)));
    return c;
}

// Condition of row i: 1 + max |h_j| + scale (|x_i - c|^2 + max_j |y_j - c|^2), c = mean of y.
// Rounding the terms s_ij = h_j - scale |x_i - y_j|^2 (directly, or in the expanded centred form
// the double path uses) perturbs them by a few ulp of this magnitude, and log-sum-exp passes an
// absolute perturbation of s through unchanged; so |lse - ref| <= C u K_i is the right scale.
template <class T>
std::vector<double> conditions(const Case<T>& c) {
    std::vector<double> cen(c.dim, 0.0);
    for (std::size_t j = 0; j < c.m; ++j)
        for (int k = 0; k < c.dim; ++k) cen[k] += c.y[j * c.dim + k] / static_cast<double>(c.m);
    double hmax = 0, ymax = 0;
    for (std::size_t j = 0; j < c.m; ++j) {
        if (c.useH && std::isfinite(c.h[j])) hmax = std::max(hmax, std::abs(static_cast<double>(c.h[j])));
        double r = 0;
        for (int k = 0; k < c.dim; ++k) r += std::pow(c.y[j * c.dim + k] - cen[k], 2);
        ymax = std::max(ymax, r);
    }
    std::vector<double> K(c.n);
    for (std::size_t i = 0; i < c.n; ++i) {
        double r = 0;
        for (int k = 0; k < c.dim; ++k) r += std::pow(c.x[i * c.dim + k] - cen[k], 2);
        K[i] = 1 + hmax + static_cast<double>(c.scale) * (r + ymax);
    }
    return K;
}

// Unit roundoff and the allowed multiple of it. The engine differs from the reference by its
// term rounding (a few ulp of K, expanded form in double), its polynomial exp (< 1 ulp) and its
// summation order; 16 u K bounds all of them with margin (observed: at most ~4 u K), while any
// real defect (a dropped term, a wrong max shift, a mis-padded lane) is off by O(1) or more.
template <class T>
constexpr double kUnit = std::numeric_limits<T>::epsilon() / 2;  // 1.1e-16 (double), 6.0e-8 (float)
constexpr double kC = 16;

template <class T>
void compareWithReference(const Case<T>& c, double& worstLse, double& worstOut) {
    const auto ps = c.set();
    const std::vector<double> K = conditions(c);
    std::vector<T> lse(c.n), lseRef(c.n), lse2(c.n), out(c.n * c.vdim), outRef(c.n * c.vdim);
    tk::logSumExp(ps, lse.data(), 1);
    tk::reference::logSumExp(ps, lseRef.data());
    tk::softmaxWeightedSum(ps, c.v.data(), c.vdim, out.data(), lse2.data(), 2);
    tk::reference::softmaxWeightedSum(ps, c.v.data(), c.vdim, outRef.data(), nullptr);
    for (std::size_t i = 0; i < c.n; ++i) {
        QVERIFY(std::isfinite(lse[i]));
        const double tol = kC * kUnit<T> * K[i];
        const double e = std::abs(static_cast<double>(lse[i]) - lseRef[i]);
        worstLse = std::max(worstLse, e / (kUnit<T> * K[i]));
        QVERIFY2(e <= tol, qPrintable(QString("row %1: lse %2 vs reference %3 (tol %4)").arg(i).arg(lse[i], 0, 'g', 17).arg(lseRef[i], 0, 'g', 17).arg(tol)));
        // The lse output of softmaxWeightedSum is the same reduction.
        QVERIFY(std::abs(static_cast<double>(lse2[i]) - lseRef[i]) <= tol);
        for (int k = 0; k < c.vdim; ++k) {
            // A weighted mean of values |v| <= 2 whose weights carry relative errors ~ u K:
            // |out - ref| <= C u K * 2.
            const double eo = std::abs(static_cast<double>(out[i * c.vdim + k]) - outRef[i * c.vdim + k]);
            worstOut = std::max(worstOut, eo / (2 * kUnit<T> * K[i]));
            QVERIFY2(eo <= 2 * tol, qPrintable(QString("row %1 value %2: %3 vs %4").arg(i).arg(k).arg(out[i * c.vdim + k]).arg(outRef[i * c.vdim + k])));
        }
    }
}

}  // namespace

class TestKernels : public QObject {
    Q_OBJECT

private:
    double worst_[4] = {0, 0, 0, 0};  // max observed error / (u K): lse double, out double, lse float, out float

private slots:
    // Every test function once per SIMD target of this CPU (tests/common/simd_rows.h).
    void initTestCase_data() { tltest::simdRows(); }
    void init() { tltest::useSimdRow(); }

    void initTestCase() { qInfo() << "SIMD target:" << tk::simdTargetName().c_str(); }

    void engineVsReference_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("vdim");
        QTest::addColumn<int>("hmode");
        QTest::addColumn<double>("scale");
        const int sizes[][2] = {{1, 1}, {1, 7}, {7, 63}, {65, 7}, {63, 65}, {1000, 129}};
        const char* hname[] = {"noh", "h", "h-inf"};
        int row = 0;
        for (int dim = 1; dim <= 3; ++dim)
            for (const auto& nm : sizes)
                for (int hmode = 0; hmode < 3; ++hmode)
                    for (double scale : {1.0, 1e4}) {
                        const int vdim = 1 + row++ % 4;
                        QTest::addRow("d%d n%d m%d v%d %s s%g", dim, nm[0], nm[1], vdim, hname[hmode], scale)
                            << dim << nm[0] << nm[1] << vdim << hmode << scale;
                    }
    }
    void engineVsReference() {
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(int, m);
        QFETCH(int, vdim);
        QFETCH(int, hmode);
        QFETCH(double, scale);
        const std::uint64_t seed = 1000 * dim + 17 * n + m + 3 * hmode + (scale > 1 ? 7 : 0);
        compareWithReference(makeCase<double>(dim, n, m, vdim, hmode, scale, seed), worst_[0], worst_[1]);
        if (QTest::currentTestFailed()) return;
        compareWithReference(makeCase<float>(dim, n, m, vdim, hmode, scale, seed), worst_[2], worst_[3]);
    }

    // A tiny case against a direct sum of std::exp terms (no max shift needed: |s| < 10).
    void directSum() {
        const double x[] = {0.1, 0.2, -0.5, 0.7, 1.0, -1.0};
        const double y[] = {0.0, 0.0, 0.3, -0.2, -0.4, 0.9, 1.1, 1.1};
        const double h[] = {0.5, -1.0, 0.25, 2.0};
        const double v[] = {1, -1, 2, 0.5, -3, 4, 0.25, 0};
        const double scale = 1.7;
        tk::PairSet<double> ps{2, x, 3, y, 4, h, scale};
        double lse[3], out[6];
        tk::softmaxWeightedSum(ps, v, 2, out, lse, 1);
        for (int i = 0; i < 3; ++i) {
            double s = 0, a0 = 0, a1 = 0;
            for (int j = 0; j < 4; ++j) {
                const double d2 = std::pow(x[2 * i] - y[2 * j], 2) + std::pow(x[2 * i + 1] - y[2 * j + 1], 2);
                const double e = std::exp(h[j] - scale * d2);
                s += e;
                a0 += e * v[2 * j];
                a1 += e * v[2 * j + 1];
            }
            // Terms O(1), four of them: the direct sum is accurate to a few ulp.
            QVERIFY(std::abs(lse[i] - std::log(s)) < 1e-14);
            QVERIFY(std::abs(out[2 * i] - a0 / s) < 1e-14);
            QVERIFY(std::abs(out[2 * i + 1] - a1 / s) < 1e-14);
        }
        // Float: ~1e-6 relative (24-bit mantissa, a handful of roundings on O(1) values).
        const float xf[] = {0.1f, 0.2f, -0.5f, 0.7f, 1.0f, -1.0f};
        const float yf[] = {0.0f, 0.0f, 0.3f, -0.2f, -0.4f, 0.9f, 1.1f, 1.1f};
        const float hf[] = {0.5f, -1.0f, 0.25f, 2.0f};
        tk::PairSet<float> pf{2, xf, 3, yf, 4, hf, 1.7f};
        float lsef[3];
        tk::logSumExp(pf, lsef, 1);
        for (int i = 0; i < 3; ++i) QVERIFY(std::abs(lsef[i] - lse[i]) < 2e-6);
        // No h: s = -scale |x - y|^2; one target: lse = -scale |x - y|^2 exactly up to rounding.
        tk::PairSet<double> one{2, x, 3, y, 1, nullptr, scale};
        tk::logSumExp(one, lse, 1);
        for (int i = 0; i < 3; ++i) QVERIFY(std::abs(lse[i] + scale * (x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1])) < 1e-14);
    }

    // Huge dynamic range: at scale 1e4 (and 1e6) the terms span e^-90000 (e^-9e6); the result is
    // dominated by the two nearest targets, at equal distance 0.01: lse = -scale 1e-4 + log 2, the
    // weighted mean of their values is their average. Tolerance C u K as above (the engine
    // centres on the mean of y, so K = 1 + scale (|x - c|^2 + max |y - c|^2)).
    void extremeScale() {
        const double x[] = {0.0, 0.0};
        const double y[] = {1.0, 0.0, 0.01, 0.0, -0.01, 0.0, 0.0, 3.0};
        const double v[] = {100.0, 1.0, 3.0, -100.0};
        const double cx = 0.25, cy = 0.75, ymax = std::pow(3.0 - cy, 2) + cx * cx;
        for (double scale : {1e4, 1e6}) {
            tk::PairSet<double> ps{2, x, 1, y, 4, nullptr, scale};
            double lse, out;
            tk::softmaxWeightedSum(ps, v, 1, &out, &lse, 1);
            const double K = 1 + scale * (cx * cx + cy * cy + ymax);
            const double want = -scale * 1e-4 + std::log(2.0);
            QVERIFY2(std::abs(lse - want) <= kC * kUnit<double> * K, qPrintable(QString::number(lse, 'g', 17)));
            QVERIFY(std::abs(out - 2.0) <= kC * kUnit<double> * K * 100);
        }
    }

    // threads = 1, 2 and 0 (all) give bit-identical results: rows are independent and each row
    // is reduced in the same order whatever thread runs it. n, m large enough to be split.
    void threadsIdentical_data() {
        QTest::addColumn<int>("dim");
        QTest::newRow("1-D") << 1;
        QTest::newRow("2-D") << 2;
        QTest::newRow("3-D") << 3;
    }
    void threadsIdentical() {
        QFETCH(int, dim);
        const auto c = makeCase<double>(dim, 1000, 1000, 3, FiniteH, 10.0, 77 + dim);
        std::vector<double> l1(c.n), l2(c.n), l0(c.n), o1(c.n * 3), o2(c.n * 3);
        tk::logSumExp(c.set(), l1.data(), 1);
        tk::logSumExp(c.set(), l2.data(), 2);
        tk::logSumExp(c.set(), l0.data(), 0);
        QVERIFY(std::memcmp(l1.data(), l2.data(), l1.size() * sizeof(double)) == 0);
        QVERIFY(std::memcmp(l1.data(), l0.data(), l1.size() * sizeof(double)) == 0);
        tk::softmaxWeightedSum(c.set(), c.v.data(), 3, o1.data(), nullptr, 1);
        tk::softmaxWeightedSum(c.set(), c.v.data(), 3, o2.data(), nullptr, 2);
        QVERIFY(std::memcmp(o1.data(), o2.data(), o1.size() * sizeof(double)) == 0);
        const auto f = makeCase<float>(dim, 999, 1001, 2, SomeNegInfH, 10.0, 78 + dim);
        std::vector<float> f1(f.n), f2(f.n);
        tk::logSumExp(f.set(), f1.data(), 1);
        tk::logSumExp(f.set(), f2.data(), 2);
        QVERIFY(std::memcmp(f1.data(), f2.data(), f1.size() * sizeof(float)) == 0);
    }

    // m == 0: the empty sum, log 0 = -inf, and weighted sums 0. n == 0: nothing to do.
    void emptyTargets() {
        const double x[] = {1, 2, 3, 4};
        double lse[2] = {5, 5}, out[4] = {5, 5, 5, 5};
        tk::PairSet<double> ps{2, x, 2, nullptr, 0, nullptr, 1.0};
        tk::logSumExp(ps, lse, 2);
        QVERIFY(std::isinf(lse[0]) && lse[0] < 0 && std::isinf(lse[1]) && lse[1] < 0);
        tk::softmaxWeightedSum(ps, nullptr, 2, out, lse, 2);
        for (double o : out) QCOMPARE(o, 0.0);
        float xf[] = {1, 2}, lf = 0;
        tk::PairSet<float> pf{2, xf, 1, nullptr, 0, nullptr, 1.0f};
        tk::logSumExp(pf, &lf, 1);
        QVERIFY(std::isinf(lf) && lf < 0);
        tk::PairSet<double> none{2, nullptr, 0, x, 2, nullptr, 1.0};
        tk::logSumExp(none, nullptr, 1);  // n == 0: must not touch out
    }

    // Every h_j = -inf: documented (reduce.h) as lse = -inf, like the reference; weighted sums
    // then have no weights at all and are 0 (as the reference and the m == 0 path give).
    void allTargetsExcluded_data() {
        QTest::addColumn<int>("m");
        QTest::newRow("m=1") << 1;
        QTest::newRow("m=5") << 5;
        QTest::newRow("m=64") << 64;
        QTest::newRow("m=100") << 100;
    }
    void allTargetsExcluded() {
        QFETCH(int, m);
        const std::size_t n = 3;
        std::vector<double> x(2 * n, 0.5), y(2 * m, 0.25), h(m, -std::numeric_limits<double>::infinity()), v(m, 1.0);
        tk::PairSet<double> ps{2, x.data(), n, y.data(), static_cast<std::size_t>(m), h.data(), 1.0};
        std::vector<double> ref(n), lse(n), out(n);
        tk::reference::logSumExp(ps, ref.data());
        for (double r : ref) QVERIFY(std::isinf(r) && r < 0);
        tk::logSumExp(ps, lse.data(), 1);
        tk::softmaxWeightedSum(ps, v.data(), 1, out.data(), nullptr, 1);
        std::vector<float> xf(2 * n, 0.5f), yf(2 * m, 0.25f), hf(m, -std::numeric_limits<float>::infinity()), lf(n);
        tk::PairSet<float> pf{2, xf.data(), n, yf.data(), static_cast<std::size_t>(m), hf.data(), 1.0f};
        tk::logSumExp(pf, lf.data(), 1);
        // Collect every deviation in one message (double lse, double weighted sum, float lse).
        QString bad;
        if (!(std::isinf(lse[0]) && lse[0] < 0)) bad += QString(" double lse = %1 (want -inf);").arg(lse[0], 0, 'g', 17);
        if (out[0] != 0.0) bad += QString(" double weighted sum = %1 (want 0);").arg(out[0], 0, 'g', 17);
        if (!(std::isinf(lf[0]) && lf[0] < 0)) bad += QString(" float lse = %1 (want -inf);").arg(lf[0], 0, 'g', 9);
        for (std::size_t i = 1; i < n; ++i) QVERIFY(lse[i] == lse[0] || (std::isnan(lse[i]) && std::isnan(lse[0])));
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
    }

    // Values that are all equal: the softmax-weighted mean is that value (weights sum to 1).
    void constantValues() {
        const auto c = makeCase<double>(3, 100, 77, 4, FiniteH, 3.0, 99);
        std::vector<double> v(c.m * 4);
        for (std::size_t j = 0; j < c.m; ++j)
            for (int k = 0; k < 4; ++k) v[j * 4 + k] = k - 1.5;
        std::vector<double> out(c.n * 4);
        tk::softmaxWeightedSum(c.set(), v.data(), 4, out.data(), nullptr, 2);
        for (std::size_t i = 0; i < c.n; ++i)
            for (int k = 0; k < 4; ++k) QVERIFY(std::abs(out[i * 4 + k] - (k - 1.5)) < 1e-14);
    }

    void invalidArguments() {
        const double x[] = {0, 0, 0, 0};
        double out[4];
        tk::PairSet<double> bad0{0, x, 1, x, 1, nullptr, 1.0};
        tk::PairSet<double> bad4{4, x, 1, x, 1, nullptr, 1.0};
        QVERIFY_THROWS_EXCEPTION(tl::Error, tk::logSumExp(bad0, out, 1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tk::logSumExp(bad4, out, 1));
        tk::PairSet<double> ok{1, x, 1, x, 1, nullptr, 1.0};
        QVERIFY_THROWS_EXCEPTION(tl::Error, tk::softmaxWeightedSum(ok, x, 0, out, nullptr, 1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tk::softmaxWeightedSum(ok, x, 5, out, nullptr, 1));
    }

    // parallelFor: every index exactly once, for chunk sizes that do and do not divide n, with more
    // threads than chunks; an exception in the body reaches the caller.
    void parallelForCoversEachIndexOnce() {
        for (std::size_t n : {1u, 7u, 1000u, 4099u})
            for (std::size_t chunk : {1u, 3u, 64u, 5000u}) {
                std::vector<std::atomic<int>> hits(n);
                tl::parallelFor(n, chunk, 4, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i) ++hits[i];
                });
                for (std::size_t i = 0; i < n; ++i) QCOMPARE(hits[i].load(), 1);
            }
        bool threw = false;
        try {
            tl::parallelFor(100, 1, 2, [](std::size_t b, std::size_t) {
                if (b == 57) throw tl::Error("boom");
            });
        } catch (const tl::Error&) {
            threw = true;
        }
        QVERIFY(threw);
    }

    // Two callers (two panels computing at once) share the pool in turns (FIFO): neither starves, so
    // over a run their counts of finished jobs stay within a factor of 2 (measured 0.88-0.99 here;
    // the plain mutex used before gave ratios down to 0.6 on this busy machine).
    void parallelForTakesTurns() {
        std::atomic<bool> stop{false};
        std::atomic<long> done[2] = {0, 0};
        auto caller = [&](int k) {
            std::vector<double> out(20000);
            while (!stop) {
                tl::parallelFor(out.size(), 2500, 2, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i) out[i] = std::sqrt(static_cast<double>(i) + k);
                });
                ++done[k];
            }
        };
        std::thread a(caller, 0), b(caller, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        stop = true;
        a.join();
        b.join();
        const double lo = std::min(done[0].load(), done[1].load()), hi = std::max(done[0].load(), done[1].load());
        qInfo("jobs finished in 0.5 s: %ld and %ld", done[0].load(), done[1].load());
        QVERIFY(hi > 20);
        QVERIFY2(lo >= 0.5 * hi, qPrintable(QString("%1 vs %2").arg(lo).arg(hi)));
    }

    void cleanupTestCase() {
        qInfo("worst error / (u K): lse double %.3g, values double %.3g, lse float %.3g, values float %.3g (limit %g)",
              worst_[0], worst_[1], worst_[2], worst_[3], kC);
    }
};

QTEST_GUILESS_MAIN(TestKernels)
#include "tst_kernels.moc"
