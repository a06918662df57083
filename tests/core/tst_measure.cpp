// Tests the measure generators (tl::generators / measureFromSpec), PointCloud moments and the image density.
// Checked against analytic moments (within a few standard errors), hand-computed moments, and geometric invariants.
#include <QtTest>

#include <QFile>
#include <QTemporaryDir>

#include <cmath>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "measure/image_density.h"
#include "measure/point_cloud.h"
#include "measure/spec.h"
#include "util/error.h"

using tl::PointCloud;

namespace {

constexpr double kPi = std::numbers::pi;

// Sample statistics are compared with their expectation within kSigmas standard errors:
// a correct generator fails with probability ~6e-7 per check (and the seeds are fixed, so
// a pass is reproducible), while a generator off by more than ~5 SE (0.5-1 % at n = 200000)
// fails.
constexpr double kSigmas = 5.0;

double sumWeights(const PointCloud& pc) {
    double s = 0;
    for (double w : pc.weights) s += w;
    return s;
}

void writeBytes(const QString& path, const std::string& bytes) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// An 8 x 4 P5 image, all black except row 1, columns 5 and 6 (255).
std::string brightBlockP5() {
    std::string s = "P5\n# a comment line\n8 4\n255\n";
    std::string px(32, '\0');
    px[1 * 8 + 5] = static_cast<char>(255);
    px[1 * 8 + 6] = static_cast<char>(255);
    return s + px;
}

}  // namespace

class TestMeasure : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    QString pgmPath_;

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        pgmPath_ = tmp_.filePath("block.pgm");
        writeBytes(pgmPath_, brightBlockP5());
    }

    // Every registered kind: n points of dimension dim, uniform weights summing to 1, finite,
    // deterministic for a seed, different for another seed.
    void everyKindBasics_data() {
        QTest::addColumn<QString>("kind");
        for (const auto& g : tl::generators()) QTest::newRow(g.name.c_str()) << QString::fromStdString(g.name);
    }
    void everyKindBasics() {
        QFETCH(QString, kind);
        const std::string k = kind.toStdString();
        const std::string extra = k == "image" ? ",path=" + pgmPath_.toStdString() : "";
        const std::size_t n = 257;
        const PointCloud a = tl::measureFromSpec(k + ":n=257,seed=11" + extra);
        const PointCloud b = tl::measureFromSpec(k + ":n=257,seed=11" + extra);
        const PointCloud c = tl::measureFromSpec(k + ":n=257,seed=12" + extra);
        QCOMPARE(a.size(), n);
        QVERIFY(a.dim >= 1 && a.dim <= 3);
        QCOMPARE(a.points.size(), n * static_cast<std::size_t>(a.dim));
        // Weights are 1/n each: the sum is 1 up to n roundings (n * 2^-53 ~ 3e-14).
        QVERIFY(std::abs(sumWeights(a) - 1.0) < 1e-13);
        for (double w : a.weights) QCOMPARE(w, 1.0 / static_cast<double>(n));
        for (double v : a.points) QVERIFY(std::isfinite(v));
        QVERIFY(a.points == b.points);  // same seed, bit-identical
        QVERIFY(a.points != c.points);  // other seed, other points
        // Defaults (n = 1000) apply when no key is given.
        if (k != "image") QCOMPARE(tl::measureFromSpec(k).size(), std::size_t(1000));
    }

    void defaultDimensions_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<int>("dim");
        QTest::newRow("gaussian default") << "gaussian:n=10" << 2;
        QTest::newRow("gaussian mean 1-D") << "gaussian:n=10,mean=3" << 1;
        QTest::newRow("gaussian mean 3-D") << "gaussian:n=10,mean=1;2;3" << 3;
        QTest::newRow("gaussian dim=3") << "gaussian:n=10,dim=3" << 3;
        QTest::newRow("gaussian cov 2x2") << "gaussian:n=10,cov=2;1;1;2" << 2;
        QTest::newRow("gaussian cov 3x3") << "gaussian:n=10,cov=1;0;0;0;1;0;0;0;1" << 3;
        // The 'dim' key documents "dimension when 'mean' is not given (default 2)" and 'cov'
        // accepts "1 value (isotropic), d values (diagonal)": so these are 2-D.
        QTest::newRow("gaussian isotropic cov, no mean") << "gaussian:n=10,cov=2" << 2;
        QTest::newRow("gaussian diagonal cov, no mean") << "gaussian:n=10,cov=1;4" << 2;
        QTest::newRow("gmm dim=1") << "gmm:n=10,dim=1,means=0;5" << 1;
        QTest::newRow("gmm dim=3") << "gmm:n=10,dim=3,means=0;0;0" << 3;
        QTest::newRow("uniform 1-D") << "uniform:n=10,low=0,high=1" << 1;
        QTest::newRow("uniform 3-D") << "uniform:n=10,low=0;0;0,high=1;1;1" << 3;
        QTest::newRow("disk") << "disk:n=10" << 2;
    }
    void defaultDimensions() {
        QFETCH(QString, spec);
        QFETCH(int, dim);
        PointCloud pc;
        try {
            pc = tl::measureFromSpec(spec.toStdString());
        } catch (const tl::Error& e) {
            QFAIL(qPrintable(QString("threw: ") + e.what()));
        }
        QCOMPARE(pc.dim, dim);
    }

    // Sample mean and (biased) covariance of N(mean, cov), n = 200000, within 5 standard errors:
    // SE(mean_k) = sqrt(S_kk / n), SE(cov_kl) = sqrt((S_kk S_ll + S_kl^2) / n) (Gaussian 4th moments).
    void gaussianMoments_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QVector<double>>("mean");
        QTest::addColumn<QVector<double>>("cov");  // row-major d x d
        QTest::newRow("1-D") << "gaussian:n=200000,seed=1,mean=-3,cov=4" << QVector<double>{-3} << QVector<double>{4};
        QTest::newRow("2-D full") << "gaussian:n=200000,seed=2,mean=1;-2,cov=2;1.2;1.2;1"
                                  << QVector<double>{1, -2} << QVector<double>{2, 1.2, 1.2, 1};
        QTest::newRow("2-D diagonal") << "gaussian:n=200000,seed=3,mean=0;5,cov=0.25;9"
                                      << QVector<double>{0, 5} << QVector<double>{0.25, 0, 0, 9};
        QTest::newRow("3-D full") << "gaussian:n=200000,seed=4,mean=1;2;3,cov=3;1;-1;1;2;0.5;-1;0.5;1.5"
                                  << QVector<double>{1, 2, 3} << QVector<double>{3, 1, -1, 1, 2, 0.5, -1, 0.5, 1.5};
        QTest::newRow("3-D isotropic") << "gaussian:n=200000,seed=5,mean=0;0;0,cov=0.5"
                                       << QVector<double>{0, 0, 0} << QVector<double>{0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5};
    }
    void gaussianMoments() {
        QFETCH(QString, spec);
        QFETCH(QVector<double>, mean);
        QFETCH(QVector<double>, cov);
        const PointCloud pc = tl::measureFromSpec(spec.toStdString());
        const int d = static_cast<int>(mean.size());
        QCOMPARE(pc.dim, d);
        const double n = static_cast<double>(pc.size());
        const Eigen::VectorXd m = pc.mean();
        const Eigen::MatrixXd c = pc.covariance();
        for (int k = 0; k < d; ++k) {
            const double se = std::sqrt(cov[k * d + k] / n);
            QVERIFY2(std::abs(m[k] - mean[k]) < kSigmas * se, qPrintable(QString("mean[%1] = %2").arg(k).arg(m[k])));
        }
        for (int k = 0; k < d; ++k)
            for (int l = 0; l < d; ++l) {
                const double s = cov[k * d + l];
                const double se = std::sqrt((cov[k * d + k] * cov[l * d + l] + s * s) / n);
                QVERIFY2(std::abs(c(k, l) - s) < kSigmas * se, qPrintable(QString("cov(%1,%2) = %3, want %4").arg(k).arg(l).arg(c(k, l)).arg(s)));
            }
    }

    // Uniform on a box: mean (a+b)/2, variance (b-a)^2/12; SE(var) = (b-a)^2/sqrt(180 n)
    // (Var((x-mu)^2) = (b-a)^4/80 - (b-a)^4/144). All points inside the box.
    void uniformMoments() {
        const double lo[3] = {-1, 2, 0}, hi[3] = {3, 2.5, 10};
        const PointCloud pc = tl::measureFromSpec("uniform:n=200000,seed=7,low=-1;2;0,high=3;2.5;10");
        QCOMPARE(pc.dim, 3);
        const double n = static_cast<double>(pc.size());
        const Eigen::VectorXd m = pc.mean();
        const Eigen::MatrixXd c = pc.covariance();
        for (int k = 0; k < 3; ++k) {
            const double w = hi[k] - lo[k];
            QVERIFY(std::abs(m[k] - (lo[k] + hi[k]) / 2) < kSigmas * w / std::sqrt(12 * n));
            QVERIFY(std::abs(c(k, k) - w * w / 12) < kSigmas * w * w / std::sqrt(180 * n));
        }
        // Independent coordinates: off-diagonal covariance within 5 SE (SE = sd_k sd_l / sqrt(n)).
        for (int k = 0; k < 3; ++k)
            for (int l = k + 1; l < 3; ++l)
                QVERIFY(std::abs(c(k, l)) < kSigmas * std::sqrt(c(k, k) * c(l, l) / n));
        for (std::size_t i = 0; i < pc.size(); ++i)
            for (int k = 0; k < 3; ++k) QVERIFY(pc.point(i)[k] >= lo[k] && pc.point(i)[k] <= hi[k]);
    }

    // Uniform disk of radius R about c: every |x - c| <= R, mean c, E|x-c|^2 = R^2/2 with
    // Var(|x-c|^2) = R^4/3 - R^4/4 = R^4/12.
    void diskMoments() {
        const double R = 1.5, cx = 0.5, cy = -1;
        const PointCloud pc = tl::measureFromSpec("disk:n=200000,seed=8,radius=1.5,center=0.5;-1");
        const double n = static_cast<double>(pc.size());
        double r2 = 0;
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double dx = pc.point(i)[0] - cx, dy = pc.point(i)[1] - cy;
            QVERIFY(dx * dx + dy * dy <= R * R * (1 + 1e-12));
            r2 += (dx * dx + dy * dy) / n;
        }
        QVERIFY2(std::abs(r2 - R * R / 2) < kSigmas * R * R / std::sqrt(12 * n), qPrintable(QString::number(r2)));
        const Eigen::VectorXd m = pc.mean();
        // SE of each mean coordinate: sqrt(R^2/4 / n).
        QVERIFY(std::abs(m[0] - cx) < kSigmas * R / 2 / std::sqrt(n));
        QVERIFY(std::abs(m[1] - cy) < kSigmas * R / 2 / std::sqrt(n));
        // Uniform in angle and area: the fraction inside radius R/2 is 1/4 (binomial SE).
        double inner = 0;
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double dx = pc.point(i)[0] - cx, dy = pc.point(i)[1] - cy;
            if (dx * dx + dy * dy < R * R / 4) inner += 1 / n;
        }
        QVERIFY(std::abs(inner - 0.25) < kSigmas * std::sqrt(0.25 * 0.75 / n));
    }

    // Ring: r = |x - c| = R + noise * N(0,1) (noise << R so r > 0): mean R (SE noise/sqrt(n)),
    // standard deviation noise (SE ~ noise/sqrt(2n)); the mean of the points is c.
    void ringRadius() {
        const double R = 2, noise = 0.1;
        const PointCloud pc = tl::measureFromSpec("ring:n=100000,seed=9,radius=2,noise=0.1,center=1;1");
        const double n = static_cast<double>(pc.size());
        double mr = 0, mr2 = 0;
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double r = std::hypot(pc.point(i)[0] - 1, pc.point(i)[1] - 1);
            mr += r / n;
            mr2 += r * r / n;
        }
        const double sd = std::sqrt(mr2 - mr * mr);
        QVERIFY2(std::abs(mr - R) < kSigmas * noise / std::sqrt(n), qPrintable(QString::number(mr)));
        QVERIFY2(std::abs(sd - noise) < kSigmas * noise / std::sqrt(2 * n), qPrintable(QString::number(sd)));
        const Eigen::VectorXd m = pc.mean();
        QVERIFY(std::abs(m[0] - 1) < kSigmas * R / std::sqrt(2 * n));
        QVERIFY(std::abs(m[1] - 1) < kSigmas * R / std::sqrt(2 * n));
    }

    // Eight Gaussians: each point is within 6 std of one of the centres R (cos 2 pi k/8, sin 2 pi k/8)
    // (P(|N_2| > 6) = e^-18); each centre gets ~n/8 points (binomial SE) and the points assigned
    // to a centre average to it (SE std/sqrt(n/8)).
    void eightGaussiansCenters() {
        const double R = 3, sd = 0.1;
        const PointCloud pc = tl::measureFromSpec("eight-gaussians:n=40000,seed=10,radius=3,std=0.1");
        const double n = static_cast<double>(pc.size());
        std::vector<double> count(8, 0), sx(8, 0), sy(8, 0);
        for (std::size_t i = 0; i < pc.size(); ++i) {
            int best = -1;
            double bestD = 1e300;
            for (int k = 0; k < 8; ++k) {
                const double d = std::hypot(pc.point(i)[0] - R * std::cos(2 * kPi * k / 8), pc.point(i)[1] - R * std::sin(2 * kPi * k / 8));
                if (d < bestD) bestD = d, best = k;
            }
            QVERIFY2(bestD < 6 * sd, qPrintable(QString("point %1 is %2 from every centre").arg(i).arg(bestD)));
            count[best] += 1;
            sx[best] += pc.point(i)[0];
            sy[best] += pc.point(i)[1];
        }
        for (int k = 0; k < 8; ++k) {
            QVERIFY2(std::abs(count[k] / n - 0.125) < kSigmas * std::sqrt(0.125 * 0.875 / n), qPrintable(QString::number(count[k])));
            const double se = sd / std::sqrt(count[k]);
            QVERIFY(std::abs(sx[k] / count[k] - R * std::cos(2 * kPi * k / 8)) < kSigmas * se);
            QVERIFY(std::abs(sy[k] / count[k] - R * std::sin(2 * kPi * k / 8)) < kSigmas * se);
        }
    }

    // Checkerboard: every point lies on the board and on a dark square ((ix + iy) even, cell
    // (0, 0) at the lower-left corner); the dark squares are equally likely (binomial SE).
    void checkerboardDarkSquares() {
        const int cells = 6;
        const double size = 3, w = size / cells;
        const PointCloud pc = tl::measureFromSpec("checkerboard:n=36000,seed=11,cells=6,size=3");
        const double n = static_cast<double>(pc.size());
        std::vector<double> count(cells * cells, 0);
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double x = pc.point(i)[0], y = pc.point(i)[1];
            QVERIFY(x >= -size / 2 && x < size / 2 && y >= -size / 2 && y < size / 2);
            const int ix = static_cast<int>(std::floor((x + size / 2) / w)), iy = static_cast<int>(std::floor((y + size / 2) / w));
            QVERIFY2((ix + iy) % 2 == 0, qPrintable(QString("point (%1, %2) on a light square").arg(x).arg(y)));
            count[iy * cells + ix] += 1;
        }
        const double p = 2.0 / (cells * cells);  // 18 dark squares
        for (int ix = 0; ix < cells; ++ix)
            for (int iy = 0; iy < cells; ++iy)
                if ((ix + iy) % 2 == 0) QVERIFY(std::abs(count[iy * cells + ix] / n - p) < kSigmas * std::sqrt(p * (1 - p) / n));
    }

    // GMM with well separated components (means 10 apart, std <= 1): classify by the nearest
    // mean; the fractions follow the weights (binomial SE), each component has its mean and std.
    void gmmWeights() {
        const PointCloud pc = tl::measureFromSpec("gmm:n=80000,seed=12,dim=1,means=-10;0;10,std=0.5;1;0.25,weights=1;2;1");
        QCOMPARE(pc.dim, 1);
        const double n = static_cast<double>(pc.size());
        const double mu[3] = {-10, 0, 10}, sd[3] = {0.5, 1, 0.25}, p[3] = {0.25, 0.5, 0.25};
        double cnt[3] = {0, 0, 0}, s1[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double x = pc.point(i)[0];
            const int k = x < -5 ? 0 : x < 5 ? 1 : 2;
            cnt[k] += 1;
            s1[k] += x;
            s2[k] += x * x;
        }
        for (int k = 0; k < 3; ++k) {
            QVERIFY2(std::abs(cnt[k] / n - p[k]) < kSigmas * std::sqrt(p[k] * (1 - p[k]) / n), qPrintable(QString::number(cnt[k])));
            const double m = s1[k] / cnt[k], v = s2[k] / cnt[k] - m * m;
            QVERIFY(std::abs(m - mu[k]) < kSigmas * sd[k] / std::sqrt(cnt[k]));
            QVERIFY(std::abs(std::sqrt(v) - sd[k]) < kSigmas * sd[k] / std::sqrt(2 * cnt[k]));
        }
    }

    // Moons without noise lie exactly on their two unit half circles (scaled, shifted by (0.5, 0.25)),
    // even samples on the upper one, odd on the lower one; with the shift the mean is the origin:
    // E[cos t] = 0, E[sin t] = 2/pi for t ~ U[0, pi] gives means (0.5, 0.25) before centring.
    void moonsGeometry() {
        const double s = 2;
        const PointCloud pc = tl::measureFromSpec("moons:n=100000,seed=13,noise=0,scale=2");
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double u = pc.point(i)[0] / s + 0.5, v = pc.point(i)[1] / s + 0.25;
            if (i % 2 == 0) {
                QVERIFY(std::abs(u * u + v * v - 1) < 1e-12);
                QVERIFY(v >= -1e-12);
            } else {
                QVERIFY(std::abs((u - 1) * (u - 1) + (v - 0.5) * (v - 0.5) - 1) < 1e-12);
                QVERIFY(v <= 0.5 + 1e-12);
            }
        }
        // SE of each mean coordinate <= s * 0.71 / sqrt(n).
        const Eigen::VectorXd m = pc.mean();
        const double se = s * 0.71 / std::sqrt(static_cast<double>(pc.size()));
        QVERIFY(std::abs(m[0]) < kSigmas * se);
        QVERIFY(std::abs(m[1]) < kSigmas * se);
    }

    // Spirals without noise: point i is R u (cos th, sin th) with th = 2 pi turns u (+ pi for odd i),
    // u = |x| / R in [0, 1]; u = sqrt(U) so E|x|^2 = R^2/2 (Var |x|^2 = R^4/12).
    void spiralsGeometry() {
        const double R = 2, turns = 1.5;
        const PointCloud pc = tl::measureFromSpec("spirals:n=50000,seed=14,noise=0,turns=1.5,radius=2");
        const double n = static_cast<double>(pc.size());
        double r2 = 0;
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double x = pc.point(i)[0], y = pc.point(i)[1];
            const double u = std::hypot(x, y) / R;
            QVERIFY(u <= 1 + 1e-12);
            const double th = 2 * kPi * turns * u + (i % 2 ? kPi : 0.0);
            QVERIFY(std::abs(x - R * u * std::cos(th)) < 1e-9 && std::abs(y - R * u * std::sin(th)) < 1e-9);
            r2 += (x * x + y * y) / n;
        }
        QVERIFY(std::abs(r2 - R * R / 2) < kSigmas * R * R / std::sqrt(12 * n));
    }

    // mean and covariance with non-uniform weights against a hand computation:
    // points (0,0), (2,0), (0,4), weights 1/2, 1/4, 1/4: mean (0.5, 1); E[x^2] = 1, E[y^2] = 4,
    // E[xy] = 0, so cov = [[0.75, -0.5], [-0.5, 3]]. Exact in binary floating point.
    void pointCloudMoments() {
        PointCloud pc;
        pc.dim = 2;
        pc.points = {0, 0, 2, 0, 0, 4};
        pc.weights = {0.5, 0.25, 0.25};
        pc.validate();
        const Eigen::VectorXd m = pc.mean();
        const Eigen::MatrixXd c = pc.covariance();
        QCOMPARE(m[0], 0.5);
        QCOMPARE(m[1], 1.0);
        QVERIFY(std::abs(c(0, 0) - 0.75) < 1e-15);
        QVERIFY(std::abs(c(1, 1) - 3.0) < 1e-15);
        QVERIFY(std::abs(c(0, 1) + 0.5) < 1e-15);
        QVERIFY(std::abs(c(1, 0) + 0.5) < 1e-15);
        const Eigen::MatrixXd X = pc.matrix();
        QCOMPARE(X.rows(), Eigen::Index(3));
        QCOMPARE(X(2, 1), 4.0);
        // 1-D, weights 0.1, 0.2, 0.7 at -1, 0, 3: mean 2, E x^2 = 0.1 + 6.3 = 6.4, var 2.4.
        PointCloud q;
        q.dim = 1;
        q.points = {-1, 0, 3};
        q.weights = {0.1, 0.2, 0.7};
        QVERIFY(std::abs(q.mean()[0] - 2.0) < 1e-15);
        QVERIFY(std::abs(q.covariance()(0, 0) - 2.4) < 1e-14);
        // normalizeWeights divides by the sum.
        q.weights = {1, 2, 7};
        q.normalizeWeights();
        QVERIFY(std::abs(q.weights[2] - 0.7) < 1e-16);
        QVERIFY(std::abs(q.weights[0] + q.weights[1] + q.weights[2] - 1) < 1e-15);
    }

    void pointCloudValidate_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<QVector<double>>("points");
        QTest::addColumn<QVector<double>>("weights");
        QTest::addColumn<QString>("word");
        const double nan = std::nan(""), inf = INFINITY;
        QTest::newRow("dim 0") << 0 << QVector<double>{} << QVector<double>{} << "dimension";
        QTest::newRow("dim 4") << 4 << QVector<double>{1, 2, 3, 4} << QVector<double>{1} << "dimension";
        QTest::newRow("n = 0") << 2 << QVector<double>{} << QVector<double>{} << "n = 0";
        QTest::newRow("ragged") << 2 << QVector<double>{1, 2, 3} << QVector<double>{0.5, 0.5} << "coordinate count";
        QTest::newRow("nan") << 2 << QVector<double>{1, 2, nan, 4} << QVector<double>{0.5, 0.5} << "non-finite";
        QTest::newRow("inf") << 1 << QVector<double>{1, inf} << QVector<double>{0.5, 0.5} << "non-finite";
        QTest::newRow("negative") << 1 << QVector<double>{1, 2} << QVector<double>{1.5, -0.5} << "negative";
        QTest::newRow("all zero") << 1 << QVector<double>{1, 2} << QVector<double>{0, 0} << "zero";
        QTest::newRow("nan weight") << 1 << QVector<double>{1, 2} << QVector<double>{nan, 1} << "weight";
    }
    void pointCloudValidate() {
        QFETCH(int, dim);
        QFETCH(QVector<double>, points);
        QFETCH(QVector<double>, weights);
        QFETCH(QString, word);
        PointCloud pc;
        pc.dim = dim;
        pc.points.assign(points.begin(), points.end());
        pc.weights.assign(weights.begin(), weights.end());
        try {
            pc.validate("source");
            QFAIL("validate() accepted an invalid cloud");
        } catch (const tl::Error& e) {
            const QString msg = e.what();
            QVERIFY2(msg.startsWith("source") && msg.contains(word), qPrintable(msg));
        }
    }

    // Image density: the 8 x 4 image (width 8 -> 1 unit per pixel, y up, centred) has only
    // pixels (row 1, cols 5-6) bright: every sample lies in x in [1, 3], y in [0, 1], and the two
    // pixels get equal shares (binomial SE). P5 (with a comment) and P2 parse to the same image.
    void imageDensitySamples() {
        const tl::GrayImage img = tl::readPgm(pgmPath_.toStdString());
        QCOMPARE(img.width, 8);
        QCOMPARE(img.height, 4);
        QCOMPARE(img.pixels[1 * 8 + 5], 1.0);
        QCOMPARE(img.pixels[0], 0.0);
        const PointCloud pc = tl::sampleImageDensity(img, 20000, 5, 8.0, false);
        double left = 0;
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double x = pc.point(i)[0], y = pc.point(i)[1];
            QVERIFY2(x >= 1 && x <= 3 && y >= 0 && y <= 1, qPrintable(QString("(%1, %2)").arg(x).arg(y)));
            if (x < 2) left += 1;
        }
        QVERIFY(std::abs(left / 20000 - 0.5) < kSigmas * std::sqrt(0.25 / 20000));
        // invert: the bright pixels (g = 1) get density 1 - g = 0.
        const PointCloud inv = tl::sampleImageDensity(img, 5000, 5, 8.0, true);
        for (std::size_t i = 0; i < inv.size(); ++i) {
            const double x = inv.point(i)[0], y = inv.point(i)[1];
            QVERIFY(!(x > 1 && x < 3 && y > 0 && y < 1));
            QVERIFY(x >= -4 && x <= 4 && y >= -2 && y <= 2);
        }
        // The same image as ASCII P2, through the SPEC with a relative path against baseDir.
        std::string p2 = "P2\n8 4\n# comment\n255\n";
        for (int k = 0; k < 32; ++k) p2 += (k == 13 || k == 14 ? "255 " : "0 ");
        writeBytes(tmp_.filePath("block2.pgm"), p2);
        const tl::GrayImage img2 = tl::readPgm(tmp_.filePath("block2.pgm").toStdString());
        QVERIFY(img2.pixels == img.pixels);
        const PointCloud viaSpec = tl::measureFromSpec("image:n=3000,seed=2,width=8,path=block2.pgm", tmp_.path().toStdString());
        for (std::size_t i = 0; i < viaSpec.size(); ++i) {
            const double x = viaSpec.point(i)[0], y = viaSpec.point(i)[1];
            QVERIFY(x >= 1 && x <= 3 && y >= 0 && y <= 1);
        }
    }

    // Two pixels with intensities 0.25 and 0.75 (16-bit P5, maxval 1000): shares 1/4 and 3/4.
    void imageDensityProportional() {
        std::string s = "P5 2 1 1000\n";
        const int v0 = 250, v1 = 750;
        s += static_cast<char>(v0 >> 8);
        s += static_cast<char>(v0 & 255);
        s += static_cast<char>(v1 >> 8);
        s += static_cast<char>(v1 & 255);
        writeBytes(tmp_.filePath("two.pgm"), s);
        const tl::GrayImage img = tl::readPgm(tmp_.filePath("two.pgm").toStdString());
        QCOMPARE(img.pixels[0], 0.25);
        QCOMPARE(img.pixels[1], 0.75);
        const double n = 40000;
        const PointCloud pc = tl::sampleImageDensity(img, 40000, 3, 2.0, false);
        double right = 0;
        for (std::size_t i = 0; i < pc.size(); ++i) right += pc.point(i)[0] > 0 ? 1 : 0;
        QVERIFY(std::abs(right / n - 0.75) < kSigmas * std::sqrt(0.75 * 0.25 / n));
    }

    void malformedPgm_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("no magic") << QByteArray("P3\n2 2\n255\n0 0 0 0\n");
        QTest::newRow("empty") << QByteArray("");
        QTest::newRow("missing height") << QByteArray("P2\n2\n");
        QTest::newRow("zero width") << QByteArray("P2\n0 2\n255\n");
        QTest::newRow("maxval 0") << QByteArray("P2\n1 1\n0\n0\n");
        QTest::newRow("maxval too large") << QByteArray("P2\n1 1\n70000\n0\n");
        QTest::newRow("truncated P5") << QByteArray("P5\n4 4\n255\n\x01\x02\x03");
        QTest::newRow("P2 missing pixels") << QByteArray("P2\n2 2\n255\n1 2 3\n");
        QTest::newRow("P2 non-numeric pixel") << QByteArray("P2\n2 1\n255\n1 x\n");
    }
    void malformedPgm() {
        QFETCH(QByteArray, bytes);
        const QString path = tmp_.filePath("bad.pgm");
        writeBytes(path, bytes.toStdString());
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::readPgm(path.toStdString()));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::measureFromSpec("image:n=10,path=" + path.toStdString()));
    }

    void imageErrors() {
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::readPgm(tmp_.filePath("missing.pgm").toStdString()));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::readGrayImage(tmp_.filePath("picture.xyz").toStdString()));
        tl::GrayImage black;
        black.width = 2;
        black.height = 1;
        black.pixels = {0, 0};
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sampleImageDensity(black, 10, 1, 1.0, false));
        QCOMPARE(tl::sampleImageDensity(black, 10, 1, 1.0, true).size(), std::size_t(10));
    }
};

QTEST_GUILESS_MAIN(TestMeasure)
#include "tst_measure.moc"
