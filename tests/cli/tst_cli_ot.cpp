// Tests the `transportlab-cli ot` contract (JSON on stdout, CSV outputs, one-line errors, exit codes) through QProcess.
// Checked against the same solvers run in-process (solveExact, sinkhorn, buresWassersteinSq) and the plan/potential invariants.
#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <cmath>
#include <fstream>
#include <vector>

#include "measure/csv.h"
#include "measure/spec.h"
#include "ot/exact.h"
#include "ot/gaussian.h"
#include "ot/sinkhorn.h"

namespace {

using namespace tltest;  // the helpers of tests/common

// The one JSON object on stdout (one line); fails the test otherwise.
QJsonObject parseJson(const Run& r) {
    const QByteArray out = r.out.trimmed();
    [&] {
        QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
        QVERIFY2(!out.isEmpty() && !out.contains('\n'), qPrintable(QString::fromUtf8(r.out)));
    }();
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(out, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) return {};
    return doc.object();
}

// Parses "i,j,mass" / "side,index,potential" CSV written by the CLI.
QList<QStringList> readRows(const QString& path, QString* header) {
    QFile f(path);
    QList<QStringList> rows;
    if (!f.open(QIODevice::ReadOnly)) return rows;
    const QList<QByteArray> lines = f.readAll().split('\n');
    *header = QString::fromUtf8(lines.value(0));
    for (int k = 1; k < lines.size(); ++k)
        if (!lines[k].isEmpty()) rows.push_back(QString::fromUtf8(lines[k]).split(','));
    return rows;
}

bool near(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(1.0, std::abs(b)); }

}  // namespace

class TestCliOt : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;

    QString file(const QString& name) const { return tmp_.filePath(name); }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QVERIFY2(QFile::exists(QStringLiteral(TL_CLI_PATH)), TL_CLI_PATH);
        // Weighted 2-D clouds as CSV files (shared by several tests).
        writeText(file("a.csv"), "x,y,weight\n0,0,1\n1,0,2\n0,1,1\n2,2,0.5\n-1,0.5,3\n");
        writeText(file("b.csv"), "x,y\n0.5,0.5\n3,1\n-0.5,2\n1,-1\n");
    }

    // `ot` prints exactly one JSON object with the documented keys and nothing on stderr;
    // n, m, dim describe the inputs.
    void jsonContract_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("method");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("dim");
        QTest::newRow("exact default") << QStringList{"--source", "gaussian:n=30,seed=1", "--target", "uniform:n=20,seed=2"} << "exact" << 30 << 20 << 2;
        QTest::newRow("exact 3-D") << QStringList{"--source", "gaussian:n=12,dim=3", "--target", "gaussian:n=9,seed=5,mean=1;1;1", "--method", "exact"} << "exact" << 12 << 9 << 3;
        QTest::newRow("sinkhorn") << QStringList{"--source", "disk:n=40", "--target", "ring:n=50", "--method", "sinkhorn", "--epsilon", "0.05"} << "sinkhorn" << 40 << 50 << 2;
        QTest::newRow("gaussian 1-D") << QStringList{"--source", "gaussian:n=100,mean=0", "--target", "uniform:n=80,low=0,high=1", "--method=gaussian"} << "gaussian" << 100 << 80 << 1;
    }
    void jsonContract() {
        QFETCH(QStringList, args);
        QFETCH(QString, method);
        QFETCH(int, n);
        QFETCH(int, m);
        QFETCH(int, dim);
        const Run r = runCli(QStringList{"ot"} + args);
        const QJsonObject j = parseJson(r);
        if (QTest::currentTestFailed()) return;
        QVERIFY2(r.err.isEmpty(), r.err.constData());
        for (const char* key : {"method", "n", "m", "dim", "cost", "iterations", "marginal_error", "seconds"})
            QVERIFY2(j.contains(key), key);
        QCOMPARE(j["method"].toString(), method);
        QCOMPARE(j["n"].toInt(), n);
        QCOMPARE(j["m"].toInt(), m);
        QCOMPARE(j["dim"].toInt(), dim);
        QVERIFY(j["cost"].isDouble() && j["cost"].toDouble() >= 0);
        QVERIFY(j["iterations"].isDouble());
        QVERIFY(j["marginal_error"].isDouble() && j["marginal_error"].toDouble() >= 0);
        QVERIFY(j["seconds"].isDouble() && j["seconds"].toDouble() >= 0);
    }

    // The exact cost printed equals solveExact on the same measures in-process (SPECs are
    // deterministic, CSVs are read by the same parser); 1e-12 relative: the solver is
    // deterministic and the JSON number round-trips the double.
    void exactMatchesInProcess_data() {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("target");
        QTest::newRow("specs 2-D") << "gaussian:n=40,seed=3" << "moons:n=35,seed=4";
        QTest::newRow("specs 1-D") << "gaussian:n=50,mean=1" << "uniform:n=70,low=-1,high=2";
        QTest::newRow("csv weighted") << "a.csv" << "b.csv";
        QTest::newRow("csv + spec") << "a.csv" << "checkerboard:n=25";
    }
    void exactMatchesInProcess() {
        QFETCH(QString, source);
        QFETCH(QString, target);
        const QString s = source.endsWith(".csv") ? file(source) : source, t = target.endsWith(".csv") ? file(target) : target;
        const QJsonObject j = parseJson(runCli({"ot", "--source", s, "--target", t, "--method", "exact"}));
        if (QTest::currentTestFailed()) return;
        const tl::PointCloud x = tl::measureFromSpec(s.toStdString()), y = tl::measureFromSpec(t.toStdString());
        const tl::OtResult r = tl::solveExact(x, y);
        QVERIFY2(near(j["cost"].toDouble(), r.cost, 1e-12), qPrintable(QString("%1 vs %2").arg(j["cost"].toDouble(), 0, 'g', 17).arg(r.cost, 0, 'g', 17)));
        QCOMPARE(j["n"].toInt(), static_cast<int>(x.size()));
        QVERIFY(j["marginal_error"].toDouble() < 1e-12);
        QCOMPARE(j["status"].toString(), QString("optimal"));
    }

    // --epsilon reaches the solver: the cost equals tl::sinkhorn at that eps (same defaults,
    // deterministic whatever the thread count), and lies above the exact cost.
    void sinkhornEpsilon_data() {
        QTest::addColumn<double>("eps");
        QTest::newRow("eps 1") << 1.0;
        QTest::newRow("eps 0.1") << 0.1;
        QTest::newRow("eps 0.01") << 0.01;
    }
    void sinkhornEpsilon() {
        QFETCH(double, eps);
        const QString s = "gaussian:n=60,seed=8", t = "eight-gaussians:n=50,seed=9";
        const QJsonObject j = parseJson(runCli({"ot", "--source", s, "--target", t, "--method", "sinkhorn", "--epsilon", QString::number(eps)}));
        if (QTest::currentTestFailed()) return;
        const tl::PointCloud x = tl::measureFromSpec(s.toStdString()), y = tl::measureFromSpec(t.toStdString());
        tl::SinkhornOptions o;
        o.epsilon = eps;
        const auto r = tl::sinkhorn(x, y, o);
        QVERIFY2(near(j["cost"].toDouble(), r.cost, 1e-12), qPrintable(QString("%1 vs %2").arg(j["cost"].toDouble(), 0, 'g', 17).arg(r.cost, 0, 'g', 17)));
        QCOMPARE(j["epsilon"].toDouble(), eps);
        QCOMPARE(j["iterations"].toInt(), r.iterations);
        QVERIFY(j["marginal_error"].toDouble() < 1e-6);
        QCOMPARE(j["status"].toString(), QString("converged"));
        QVERIFY(j["cost"].toDouble() >= tl::solveExact(x, y).cost - 1e-6);
    }

    // gaussian: the cost is the Bures distance of the clouds' weighted means and covariances.
    void gaussianMatchesBures() {
        const QString t = file("b.csv");
        const QJsonObject j = parseJson(runCli({"ot", "--source", file("a.csv"), "--target", t, "--method", "gaussian"}));
        if (QTest::currentTestFailed()) return;
        const tl::PointCloud x = tl::readCsv(file("a.csv").toStdString()), y = tl::readCsv(t.toStdString());
        const double want = tl::buresWassersteinSq(x.mean(), x.covariance(), y.mean(), y.covariance());
        QVERIFY2(near(j["cost"].toDouble(), want, 1e-12), qPrintable(QString("%1 vs %2").arg(j["cost"].toDouble()).arg(want)));
    }

    // --plan-out / --potentials-out (exact): documented headers; the plan has the marginals of the
    // inputs (1e-12: masses are written with round-trip precision), its cost is the printed cost,
    // and the potentials certify it (f_i + g_j <= C_ij, equality on the plan, sum a f + sum b g =
    // cost, to 1e-9 of the cost scale).
    void exactPlanAndPotentials() {
        const QString plan = file("plan.csv"), pot = file("pot.csv");
        const Run r = runCli({"ot", "--source", file("a.csv"), "--target", file("b.csv"), "--plan-out", plan, "--potentials-out", pot});
        const QJsonObject j = parseJson(r);
        if (QTest::currentTestFailed()) return;
        const tl::PointCloud x = tl::readCsv(file("a.csv").toStdString()), y = tl::readCsv(file("b.csv").toStdString());
        QString header;
        const auto rows = readRows(plan, &header);
        QCOMPARE(header, QString("i,j,mass"));
        QVERIFY(!rows.isEmpty());
        QCOMPARE(j["plan_entries"].toInt(), static_cast<int>(rows.size()));
        std::vector<tl::PlanEntry> entries;
        double total = 0;
        for (const auto& row : rows) {
            QCOMPARE(row.size(), 3);
            bool ok1, ok2, ok3;
            const tl::PlanEntry e{row[0].toUInt(&ok1), row[1].toUInt(&ok2), row[2].toDouble(&ok3)};
            QVERIFY(ok1 && ok2 && ok3 && e.i < x.size() && e.j < y.size() && e.mass > 0);
            entries.push_back(e);
            total += e.mass;
        }
        QVERIFY(std::abs(total - 1) < 1e-12);
        QVERIFY(tl::planMarginalError(entries, x, y) < 1e-12);
        QVERIFY(near(tl::planCost(entries, x, y), j["cost"].toDouble(), 1e-12));
        const auto prow = readRows(pot, &header);
        QCOMPARE(header, QString("side,index,potential"));
        QCOMPARE(prow.size(), static_cast<qsizetype>(x.size() + y.size()));
        std::vector<double> f(x.size()), g(y.size());
        for (const auto& row : prow) {
            QCOMPARE(row.size(), 3);
            const std::size_t k = row[1].toUInt();
            if (row[0] == "source") f.at(k) = row[2].toDouble();
            else {
                QCOMPARE(row[0], QString("target"));
                g.at(k) = row[2].toDouble();
            }
        }
        double dual = 0, scale = 1;
        for (std::size_t i = 0; i < x.size(); ++i) dual += x.weights[i] * f[i];
        for (std::size_t k = 0; k < y.size(); ++k) dual += y.weights[k] * g[k];
        for (std::size_t i = 0; i < x.size(); ++i)
            for (std::size_t k = 0; k < y.size(); ++k) scale = std::max(scale, tl::sqDist(x, i, y, k));
        for (std::size_t i = 0; i < x.size(); ++i)
            for (std::size_t k = 0; k < y.size(); ++k) QVERIFY(f[i] + g[k] <= tl::sqDist(x, i, y, k) + 1e-9 * scale);
        for (const auto& e : entries) QVERIFY(std::abs(f[e.i] + g[e.j] - tl::sqDist(x, e.i, y, e.j)) <= 1e-9 * scale);
        QVERIFY(std::abs(dual - j["cost"].toDouble()) <= 1e-9 * scale);
        // No temporary files are left beside the outputs.
        QCOMPARE(QDir(tmp_.path()).entryList({".*tmp*"}, QDir::Files | QDir::Hidden).size(), 0);
    }

    // --potentials-out "writes dual potentials": in 1-D too (exact uses the sorted plan there).
    // Either a file with the n + m potentials, or -- if the method cannot provide them -- a clean
    // failure; never a silently empty file next to exit code 0.
    void potentials1d() {
        const QString pot = file("pot1d.csv");
        const Run r = runCli({"ot", "--source", "gaussian:n=10,mean=0", "--target", "gaussian:n=5,mean=2", "--potentials-out", pot});
        if (r.exitCode != 0) {
            QVERIFY(r.out.isEmpty() && QString::fromUtf8(r.err).count('\n') == 1 && !QFile::exists(pot));
            return;
        }
        QString header;
        const auto rows = readRows(pot, &header);
        QCOMPARE(header, QString("side,index,potential"));
        QVERIFY2(rows.size() == 15, qPrintable(QString("exit 0 but the potentials file has %1 rows for n + m = 15").arg(rows.size())));
    }

    // Sinkhorn plan with threshold 0: every entry, summing to 1 within the marginal tolerance,
    // and <pi, C> from the file equals the printed cost (1e-9: same terms, different order).
    void sinkhornPlan() {
        const QString plan = file("splan.csv");
        const Run r = runCli({"ot", "--source", "gaussian:n=30,seed=1", "--target", "disk:n=20,seed=2", "--method", "sinkhorn",
                              "--epsilon", "0.1", "--tolerance", "1e-9", "--plan-threshold", "0", "--plan-out", plan});
        const QJsonObject j = parseJson(r);
        if (QTest::currentTestFailed()) return;
        const tl::PointCloud x = tl::measureFromSpec("gaussian:n=30,seed=1"), y = tl::measureFromSpec("disk:n=20,seed=2");
        QString header;
        const auto rows = readRows(plan, &header);
        QCOMPARE(header, QString("i,j,mass"));
        std::vector<tl::PlanEntry> entries;
        double total = 0;
        for (const auto& row : rows) {
            entries.push_back({row[0].toUInt(), row[1].toUInt(), row[2].toDouble()});
            total += entries.back().mass;
        }
        QCOMPARE(entries.size(), x.size() * y.size());
        QVERIFY(std::abs(total - 1) < 1e-9);
        QVERIFY(tl::planMarginalError(entries, x, y) < 1e-9);
        QVERIFY(near(tl::planCost(entries, x, y), j["cost"].toDouble(), 1e-9));
    }

    // Every bad input: exit code != 0, nothing on stdout, exactly one line on stderr that names
    // the problem.
    void badInputs_data() {
        writeText(file("nan.csv"), "x,y\n1,2\nnan,3\n");
        writeText(file("ragged.csv"), "x,y\n1,2\n3,4,5\n");
        writeText(file("neg.csv"), "x,y,weight\n1,2,1\n3,4,-1\n");
        writeText(file("zero.csv"), "x,y,weight\n1,2,0\n3,4,0\n");
        writeText(file("empty.csv"), "");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("word");
        const QString g = "gaussian:n=10";
        QTest::newRow("missing file") << QStringList{"--source", file("nope.csv"), "--target", g} << "nope.csv";
        QTest::newRow("nan in csv") << QStringList{"--source", file("nan.csv"), "--target", g} << "finite";
        QTest::newRow("ragged rows") << QStringList{"--source", g, "--target", file("ragged.csv")} << "fields";
        QTest::newRow("negative weights") << QStringList{"--source", file("neg.csv"), "--target", g} << "negative";
        QTest::newRow("all-zero weights") << QStringList{"--source", file("zero.csv"), "--target", g} << "zero";
        QTest::newRow("empty csv") << QStringList{"--source", file("empty.csv"), "--target", g} << "no points";
        QTest::newRow("dimension mismatch") << QStringList{"--source", g, "--target", "gaussian:n=10,dim=3"} << "dimension";
        QTest::newRow("dimension mismatch sinkhorn") << QStringList{"--source", g, "--target", "uniform:n=5,low=0,high=1", "--method", "sinkhorn"} << "dimension";
        QTest::newRow("n=0") << QStringList{"--source", "gaussian:n=0", "--target", g} << "'n'";
        QTest::newRow("epsilon 0") << QStringList{"--source", g, "--target", g, "--method", "sinkhorn", "--epsilon", "0"} << "epsilon";
        QTest::newRow("epsilon -1") << QStringList{"--source", g, "--target", g, "--method", "sinkhorn", "--epsilon", "-1"} << "epsilon";
        QTest::newRow("epsilon nan") << QStringList{"--source", g, "--target", g, "--method", "sinkhorn", "--epsilon", "nan"} << "epsilon";
        QTest::newRow("epsilon text") << QStringList{"--source", g, "--target", g, "--method", "sinkhorn", "--epsilon=small"} << "epsilon";
        QTest::newRow("tolerance 0") << QStringList{"--source", g, "--target", g, "--method", "sinkhorn", "--tolerance", "0"} << "tolerance";
        QTest::newRow("unknown kind") << QStringList{"--source", "blob:n=3", "--target", g} << "unknown measure kind";
        QTest::newRow("unknown key") << QStringList{"--source", g, "--target", "disk:n=5,colour=red"} << "colour";
        QTest::newRow("unknown option") << QStringList{"--source", g, "--target", g, "--fast"} << "unknown option --fast";
        QTest::newRow("unknown method") << QStringList{"--source", g, "--target", g, "--method", "magic"} << "magic";
        QTest::newRow("missing --target") << QStringList{"--source", g} << "--target";
        QTest::newRow("option without value") << QStringList{"--source", g, "--target"} << "needs a value";
        QTest::newRow("option twice") << QStringList{"--source", g, "--source", g, "--target", g} << "twice";
        QTest::newRow("positional argument") << QStringList{"--source", g, "--target", g, "extra"} << "extra";
        QTest::newRow("gaussian with plan") << QStringList{"--source", g, "--target", g, "--method", "gaussian", "--plan-out", file("gp.csv")} << "gaussian";
        QTest::newRow("too many points on a side") << QStringList{"--source", "gaussian:n=40001", "--target", "gaussian:n=10"} << "sinkhorn";
    }
    void badInputs() {
        QFETCH(QStringList, args);
        QFETCH(QString, word);
        const Run r = runCli(QStringList{"ot"} + args);
        QVERIFY2(r.exitCode > 0, qPrintable(QString("exit %1").arg(r.exitCode)));
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.endsWith('\n') && err.count('\n') == 1, qPrintable(err));
        QVERIFY2(err.contains(word), qPrintable(err + "   (want '" + word + "')"));
        QVERIFY(err.startsWith("error: "));
    }

    // An output path in a directory that does not exist: failure, no JSON, one error line naming
    // the path, and no file (or temporary) anywhere.
    void planOutInMissingDirectory() {
        const QString bad = file("no/such/dir/plan.csv");
        const Run r = runCli({"ot", "--source", "gaussian:n=10", "--target", "disk:n=12", "--plan-out", bad});
        QVERIFY(r.exitCode > 0);
        QVERIFY(r.out.isEmpty());
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.count('\n') == 1 && err.contains("plan.csv"), qPrintable(err));
        QVERIFY(!QFile::exists(bad));
        QVERIFY(!QDir(file("no")).exists());
        const Run p = runCli({"ot", "--source", "gaussian:n=10", "--target", "disk:n=12", "--potentials-out", file("nope/pot.csv")});
        QVERIFY(p.exitCode > 0 && p.out.isEmpty());
        QVERIFY(!QFile::exists(file("nope/pot.csv")));
        QCOMPARE(QDir(tmp_.path()).entryList({".*tmp*"}, QDir::Files | QDir::Hidden).size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestCliOt)
#include "tst_cli_ot.moc"
