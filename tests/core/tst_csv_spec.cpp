// Tests the CSV point-cloud format (parseCsv/readCsv/formatCsv/writeCsv) and SPEC parsing (measureFromSpec).
// Checked against exact round trips, hand-written expected clouds, and the documented error contract (tl::Error naming the problem).
#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QTemporaryDir>

#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "measure/csv.h"
#include "measure/point_cloud.h"
#include "measure/spec.h"
#include "util/error.h"
#include "util/rng.h"

using tl::PointCloud;

namespace {

using namespace tltest;  // the helpers of tests/common

bool bitEqual(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (std::bit_cast<std::uint64_t>(a[k]) != std::bit_cast<std::uint64_t>(b[k])) return false;
    return true;
}

// The message of the tl::Error thrown by f, or "<no error>".
template <class F>
QString errorOf(F f) {
    try {
        f();
    } catch (const tl::Error& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QString("<not a tl::Error: ") + e.what() + ">";
    }
    return "<no error>";
}

}  // namespace

class TestCsvSpec : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;

private slots:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    // writeCsv then readCsv gives back the same bits: to_chars writes the shortest string that
    // from_chars parses back to the same double. Dyadic weights summing exactly to 1 survive the
    // normalisation bit for bit.
    void roundTripExact_data() {
        QTest::addColumn<int>("dim");
        QTest::newRow("1-D") << 1;
        QTest::newRow("2-D") << 2;
        QTest::newRow("3-D") << 3;
    }
    void roundTripExact() {
        QFETCH(int, dim);
        tl::Rng rng(42 + dim);
        const std::size_t n = 64;
        PointCloud pc;
        pc.dim = dim;
        for (std::size_t k = 0; k < n * dim; ++k) pc.points.push_back(rng.normal() * std::pow(10.0, rng.uniform(-12, 12)));
        // Awkward values: thirds, extremes, negative zero, a subnormal.
        pc.points[0] = 1.0 / 3.0;
        pc.points[1 % (n * dim)] = -0.0;
        pc.points[2] = std::numeric_limits<double>::max();
        pc.points[3] = -std::numeric_limits<double>::min();
        pc.points[4] = 4.9406564584124654e-324;
        pc.points[5] = 0.1;
        // Weights 2^-k (k = 1..63) and 2^-63 again: sum exactly 1.
        for (std::size_t i = 0; i < n; ++i) pc.weights.push_back(std::ldexp(1.0, -static_cast<int>(std::min<std::size_t>(i + 1, n - 1))));
        double s = 0;
        for (double w : pc.weights) s += w;
        QCOMPARE(s, 1.0);
        const QString path = tmp_.filePath(QString("rt%1.csv").arg(dim));
        tl::writeCsv(path.toStdString(), pc);
        const PointCloud back = tl::readCsv(path.toStdString());
        QCOMPARE(back.dim, dim);
        QCOMPARE(back.size(), n);
        QVERIFY(bitEqual(back.points, pc.points));
        QVERIFY(bitEqual(back.weights, pc.weights));
        // The formatted text starts with the documented header.
        const std::string text = tl::formatCsv(pc);
        const char* headers[3] = {"x,weight\n", "x,y,weight\n", "x,y,z,weight\n"};
        QVERIFY(text.rfind(headers[dim - 1], 0) == 0);
        // Without weights: header x[,y[,z]], read back with uniform weights 1/n.
        const std::string noW = tl::formatCsv(pc, false);
        const PointCloud u = tl::parseCsv(noW);
        QVERIFY(bitEqual(u.points, pc.points));
        for (double w : u.weights) QCOMPARE(w, 1.0 / n);
    }

    // Generic (already normalised) weights: the re-normalisation divides by a sum within a few
    // ulp of 1, so weights agree to n * 2^-53 ~ 1e-14 relative; the points stay bit-exact.
    void roundTripGenericWeights() {
        tl::Rng rng(5);
        PointCloud pc;
        pc.dim = 2;
        for (int k = 0; k < 200; ++k) pc.points.push_back(rng.uniform(-5, 5));
        for (int k = 0; k < 100; ++k) pc.weights.push_back(rng.uniform());
        pc.normalizeWeights();
        const QString path = tmp_.filePath("generic.csv");
        tl::writeCsv(path.toStdString(), pc);
        const PointCloud back = tl::readCsv(path.toStdString());
        QVERIFY(bitEqual(back.points, pc.points));
        for (std::size_t i = 0; i < pc.size(); ++i) QVERIFY(std::abs(back.weights[i] - pc.weights[i]) <= 1e-14 * pc.weights[i]);
    }

    void headerVariants_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("dim");
        QTest::addColumn<QVector<double>>("points");
        QTest::addColumn<QVector<double>>("weights");
        QTest::newRow("x,y") << "x,y\n1,2\n3,4\n" << 2 << QVector<double>{1, 2, 3, 4} << QVector<double>{0.5, 0.5};
        QTest::newRow("x,y,z,weight") << "x,y,z,weight\n1,2,3,1\n4,5,6,3\n" << 3 << QVector<double>{1, 2, 3, 4, 5, 6}
                                      << QVector<double>{0.25, 0.75};
        QTest::newRow("w column first") << "w,x\n2,5\n6,7\n" << 1 << QVector<double>{5, 7} << QVector<double>{0.25, 0.75};
        QTest::newRow("y before x") << "y,x\n1,2\n" << 2 << QVector<double>{2, 1} << QVector<double>{1};
        QTest::newRow("upper case, blanks, quotes, CRLF") << "\"X\", Y ,Weight\r\n 1 , \"2\" ,1\r\n3,4,1\r\n" << 2
                                                          << QVector<double>{1, 2, 3, 4} << QVector<double>{0.5, 0.5};
        QTest::newRow("comments and blank lines") << "# made by hand\n\nx,y\n# a point\n1,2\n\n3,4" << 2
                                                  << QVector<double>{1, 2, 3, 4} << QVector<double>{0.5, 0.5};
        QTest::newRow("no header, 1 column") << "1\n2\n4\n8\n" << 1 << QVector<double>{1, 2, 4, 8} << QVector<double>{0.25, 0.25, 0.25, 0.25};
        QTest::newRow("no header, 2 columns") << "1,2\n-3,4e2" << 2 << QVector<double>{1, 2, -3, 400} << QVector<double>{0.5, 0.5};
        QTest::newRow("no header, 3 columns") << "1,2,3\n+4,5,6.5\n" << 3 << QVector<double>{1, 2, 3, 4, 5, 6.5} << QVector<double>{0.5, 0.5};
        QTest::newRow("zero weights allowed") << "x,weight\n1,0\n2,1\n3,3\n" << 1 << QVector<double>{1, 2, 3}
                                              << QVector<double>{0, 0.25, 0.75};
    }
    void headerVariants() {
        QFETCH(QString, text);
        QFETCH(int, dim);
        QFETCH(QVector<double>, points);
        QFETCH(QVector<double>, weights);
        PointCloud pc;
        try {
            pc = tl::parseCsv(text.toStdString(), "t.csv");
        } catch (const tl::Error& e) {
            QFAIL(e.what());
        }
        QCOMPARE(pc.dim, dim);
        QCOMPARE(pc.points, std::vector<double>(points.begin(), points.end()));
        QCOMPARE(pc.weights, std::vector<double>(weights.begin(), weights.end()));  // exact: dyadic fractions
    }

    // Every bad CSV throws tl::Error whose message names the file, the problem and, for row
    // problems, the line ("name:LINE: ...").
    void badCsv_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("empty file") << "" << QStringList{"data.csv", "no points"};
        QTest::newRow("only comments") << "# nothing\n\n" << QStringList{"no points"};
        QTest::newRow("header only") << "x,y\n" << QStringList{"no points"};
        QTest::newRow("nan") << "x,y\n1,2\nnan,3\n" << QStringList{"data.csv:3:", "finite", "nan"};
        QTest::newRow("inf") << "1,2\n3,inf\n" << QStringList{"data.csv:2:", "finite", "inf"};
        QTest::newRow("-inf weight") << "x,weight\n1,-inf\n" << QStringList{"data.csv:2:", "finite", "weight"};
        QTest::newRow("garbage number") << "x,y\n1,2\n3,4x\n" << QStringList{":3:", "finite", "4x"};
        QTest::newRow("empty field") << "x,y\n1,\n" << QStringList{":2:", "finite"};
        QTest::newRow("ragged, long row") << "x,y\n1,2\n3,4\n5,6,7\n" << QStringList{":4:", "expected 2 fields, found 3"};
        QTest::newRow("ragged, short row") << "1,2,3\n4,5\n" << QStringList{":2:", "expected 3 fields, found 2"};
        QTest::newRow("negative weight") << "x,y,weight\n1,2,1\n3,4,-0.5\n" << QStringList{":3:", "negative weight"};
        QTest::newRow("all-zero weights") << "x,w\n1,0\n2,0\n" << QStringList{"all weights are zero"};
        QTest::newRow("unknown column") << "x,y,colour\n1,2,3\n" << QStringList{":1:", "unknown column 'colour'"};
        QTest::newRow("duplicate column") << "x,x\n1,2\n" << QStringList{"duplicate column 'x'"};
        QTest::newRow("weight and w") << "x,weight,w\n1,2,3\n" << QStringList{"duplicate column"};
        QTest::newRow("no x column") << "y,weight\n1,2\n" << QStringList{"no 'x' column"};
        QTest::newRow("z without y") << "x,z\n1,2\n" << QStringList{"'z' but no 'y'"};
        QTest::newRow("4 columns, no header") << "1,2,3,4\n" << QStringList{":1:", "1 to 3", "found 4"};
    }
    void badCsv() {
        QFETCH(QString, text);
        QFETCH(QStringList, words);
        const QString path = tmp_.filePath("data.csv");
        writeText(path, text.toStdString());
        const QString msg = errorOf([&] { tl::readCsv(path.toStdString()); });
        for (const QString& w : words) QVERIFY2(msg.contains(w), qPrintable(msg + "   (want '" + w + "')"));
        // Through a SPEC the same file fails the same way.
        const QString viaSpec = errorOf([&] { tl::measureFromSpec(path.toStdString()); });
        QCOMPARE(viaSpec, msg);
    }

    void missingFile() {
        const std::string path = tmp_.filePath("nope/missing.csv").toStdString();
        const QString msg = errorOf([&] { tl::readCsv(path); });
        QVERIFY2(msg.contains("cannot read") && msg.contains("missing.csv"), qPrintable(msg));
        const QString dir = errorOf([&] { tl::readCsv(tmp_.path().toStdString()); });
        QVERIFY2(dir.contains("directory"), qPrintable(dir));
    }

    void parseNumberTokens_data() {
        QTest::addColumn<QString>("token");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<double>("value");
        QTest::newRow("plain") << "1.5" << true << 1.5;
        QTest::newRow("blanks") << "  -2.25\t" << true << -2.25;
        QTest::newRow("plus") << "+3" << true << 3.0;
        QTest::newRow("exponent") << "1e-3" << true << 1e-3;
        QTest::newRow("quoted") << "\"7\"" << true << 7.0;
        QTest::newRow("empty") << "" << false << 0.0;
        QTest::newRow("nan") << "nan" << false << 0.0;
        QTest::newRow("inf") << "inf" << false << 0.0;
        QTest::newRow("overflow") << "1e400" << false << 0.0;
        QTest::newRow("trailing junk") << "1.5x" << false << 0.0;
        QTest::newRow("two numbers") << "1 2" << false << 0.0;
        QTest::newRow("hex") << "0x10" << false << 0.0;
    }
    void parseNumberTokens() {
        QFETCH(QString, token);
        QFETCH(bool, ok);
        QFETCH(double, value);
        double v = -999;
        QCOMPARE(tl::parseNumber(token.toStdString(), v), ok);
        if (ok) QCOMPARE(v, value);
    }

    // Bad SPECs: tl::Error whose message names the kind and the offending key / value.
    void badSpec_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("empty") << "  " << QStringList{"empty"};
        QTest::newRow("unknown kind") << "blob:n=3" << QStringList{"unknown measure kind 'blob'", "gaussian"};
        QTest::newRow("unknown key") << "disk:n=3,colour=red" << QStringList{"disk", "unknown key 'colour'", "radius"};
        QTest::newRow("duplicate key") << "disk:n=3,n=4" << QStringList{"disk", "'n'", "twice"};
        QTest::newRow("no =") << "disk:n" << QStringList{"key=value", "'n'"};
        QTest::newRow("empty value") << "disk:radius=" << QStringList{"'radius'", "empty"};
        QTest::newRow("non-numeric real") << "disk:radius=big" << QStringList{"disk", "'radius'", "number", "big"};
        QTest::newRow("non-numeric n") << "ring:n=many" << QStringList{"ring", "'n'", "integer", "many"};
        QTest::newRow("non-integer n") << "ring:n=2.5" << QStringList{"'n'", "integer"};
        QTest::newRow("n = 0") << "gaussian:n=0" << QStringList{"gaussian", "'n'", "[1,", "0"};
        QTest::newRow("n negative") << "uniform:n=-5" << QStringList{"'n'", "-5"};
        QTest::newRow("n too large") << "uniform:n=1e9" << QStringList{"'n'", "50000000"};
        QTest::newRow("negative seed") << "disk:seed=-1" << QStringList{"'seed'"};
        QTest::newRow("radius out of range") << "disk:radius=-1" << QStringList{"'radius'", "must be in"};
        QTest::newRow("cells out of range") << "checkerboard:cells=1" << QStringList{"'cells'", "[2, 1000]"};
        QTest::newRow("turns out of range") << "spirals:turns=1000" << QStringList{"'turns'"};
        QTest::newRow("invert not 0/1") << "image:path=a.pgm,invert=2" << QStringList{"'invert'"};
        QTest::newRow("cov not PSD") << "gaussian:mean=0;0,cov=1;2;2;1" << QStringList{"'cov'", "positive semi-definite"};
        QTest::newRow("cov not symmetric") << "gaussian:mean=0;0,cov=1;0.5;0;1" << QStringList{"'cov'", "symmetric"};
        QTest::newRow("cov wrong length") << "gaussian:mean=0;0,cov=1;2;3" << QStringList{"'cov'", "1, d or d*d"};
        QTest::newRow("negative variance") << "gaussian:mean=0,cov=-1" << QStringList{"'cov'", "positive semi-definite"};
        QTest::newRow("mean too long") << "gaussian:mean=1;2;3;4" << QStringList{"'mean'", "1 to 3"};
        QTest::newRow("dim disagrees") << "gaussian:mean=1;2,dim=3" << QStringList{"'dim'"};
        QTest::newRow("list with bad number") << "uniform:low=0;x,high=1;1" << QStringList{"'low'", "'x'"};
        QTest::newRow("center wrong length") << "disk:center=1;2;3" << QStringList{"'center'", "2 values"};
        QTest::newRow("low/high lengths differ") << "uniform:low=0;0,high=1" << QStringList{"'low'", "'high'", "same length"};
        QTest::newRow("high <= low") << "uniform:low=0;0,high=1;0" << QStringList{"'high'"};
        QTest::newRow("gmm means not multiple of dim") << "gmm:dim=2,means=1;2;3" << QStringList{"'means'"};
        QTest::newRow("gmm std wrong length") << "gmm:dim=1,means=0;1;2,std=1;2" << QStringList{"'std'"};
        QTest::newRow("gmm weights wrong length") << "gmm:dim=1,means=0;1,weights=1" << QStringList{"'weights'"};
        QTest::newRow("gmm weights negative") << "gmm:dim=1,means=0;1,weights=1;-1" << QStringList{"'weights'"};
        QTest::newRow("gmm weights zero") << "gmm:dim=1,means=0;1,weights=0;0" << QStringList{"'weights'", "zero"};
        QTest::newRow("image without path") << "image:n=10" << QStringList{"image", "'path'", "required"};
        QTest::newRow("image missing file") << "image:path=/nonexistent/x.pgm" << QStringList{"x.pgm"};
        QTest::newRow("missing csv") << "/nonexistent/dir/points.csv" << QStringList{"cannot read", "points.csv"};
    }
    void badSpec() {
        QFETCH(QString, spec);
        QFETCH(QStringList, words);
        const QString msg = errorOf([&] { tl::measureFromSpec(spec.toStdString()); });
        QVERIFY2(msg != "<no error>", qPrintable(spec));
        QVERIFY2(!msg.startsWith("<not a tl::Error"), qPrintable(msg));
        for (const QString& w : words) QVERIFY2(msg.contains(w), qPrintable(msg + "   (want '" + w + "')"));
        QVERIFY2(!msg.contains('\n'), qPrintable(msg));  // one-line, user-facing
    }

    // Keys given in a SPEC reach the generator (n, seed, list values); defaults fill the rest.
    void specValues() {
        const PointCloud pc = tl::measureFromSpec(" uniform:n=5,seed=3,low=2;-1,high=2.5;-0.5 ");
        QCOMPARE(pc.size(), std::size_t(5));
        QCOMPARE(pc.dim, 2);
        for (std::size_t i = 0; i < pc.size(); ++i) {
            QVERIFY(pc.point(i)[0] >= 2 && pc.point(i)[0] < 2.5);
            QVERIFY(pc.point(i)[1] >= -1 && pc.point(i)[1] < -0.5);
        }
        // Trailing comma tolerated, key order irrelevant.
        const PointCloud a = tl::measureFromSpec("disk:seed=4,n=9,");
        const PointCloud b = tl::measureFromSpec("disk:n=9,seed=4");
        QVERIFY(a.points == b.points);
        // Every kind, every key appears in the generated reference.
        const std::string md = tl::specReferenceMarkdown();
        for (const auto& g : tl::generators()) {
            QVERIFY(md.find("**" + g.name + "**") != std::string::npos);
            for (const auto& k : g.keys) QVERIFY(md.find("`" + k.name + "`") != std::string::npos);
        }
    }

    // A relative CSV path resolves against baseDir (and an absolute one ignores it).
    void csvPathResolution() {
        QDir dir(tmp_.path());
        QVERIFY(dir.mkpath("scenario/data"));
        const std::string base = dir.filePath("scenario").toStdString();
        writeText(dir.filePath("scenario/data/pts.csv"), "x,y,weight\n1,2,1\n3,4,3\n");
        const PointCloud rel = tl::measureFromSpec("data/pts.csv", base);
        QCOMPARE(rel.points, (std::vector<double>{1, 2, 3, 4}));
        QCOMPARE(rel.weights, (std::vector<double>{0.25, 0.75}));
        // baseDir with a trailing slash resolves the same way.
        QCOMPARE(tl::measureFromSpec("data/pts.csv", base + "/").points, rel.points);
    }

    void csvPathResolutionDetails() {
        QDir dir(tmp_.path());
        QVERIFY(dir.mkpath("scen2/data"));
        const std::string base = dir.filePath("scen2").toStdString();
        writeText(dir.filePath("scen2/data/pts.csv"), "1\n3\n");
        QCOMPARE(tl::measureFromSpec("./other/../data/pts.csv", base).points, (std::vector<double>{1, 3}));
        // Upper-case extension is still a CSV path.
        writeText(dir.filePath("scen2/data/UP.CSV"), "5\n");
        QCOMPARE(tl::measureFromSpec("data/UP.CSV", base).points, (std::vector<double>{5}));
        // Absolute path: baseDir ignored.
        const std::string abs = dir.filePath("scen2/data/pts.csv").toStdString();
        QCOMPARE(tl::measureFromSpec(abs, "/nonexistent").size(), std::size_t(2));
        // A missing relative file: the error names the resolved path.
        const QString msg = errorOf([&] { tl::measureFromSpec("data/nothere.csv", base); });
        QVERIFY2(msg.contains(QString::fromStdString(base + "/data/nothere.csv")), qPrintable(msg));
    }
};

QTEST_GUILESS_MAIN(TestCsvSpec)
#include "tst_csv_spec.moc"
