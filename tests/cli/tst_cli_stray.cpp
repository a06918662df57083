// Tests that every subcommand refuses a stray argument (a positional argument it does not take, or a
// value given to an option that takes none): exit 2, nothing on stdout, exactly one line `error: ...`
// on stderr naming the subcommand and the argument (quoted and escaped), and nothing written. Each
// command line would succeed without the stray argument (checked too), so the refusal is the stray
// argument's doing. Also: `help SUB` prints SUB's usage; anything after `--version` is refused.
#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

namespace {

using namespace tltest;  // the helpers of tests/common

const QByteArray kParticles =
    R"({"source": "gaussian:n=30,seed=1", "target": "moons:n=30,seed=2", "frames": 3, "panels": [{"dynamics": "ot-displacement"}]})";
const QByteArray kGradientFlow =
    R"({"source": "gaussian:n=200,seed=1", "frames": 3, "duration": 0.2,
        "panels": [{"dynamics": "gradient-flow", "grid": 16, "epsilon": 0.3, "tau": 0.1}]})";

}  // namespace

class TestCliStray : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    int case_ = 0;

    // A fresh folder holding p.json (particles) and g.json (a gradient flow).
    QString freshCase() {
        const QString d = tmp_.filePath(QString("case%1").arg(case_++));
        QDir().mkpath(d);
        for (const auto& [name, json] : {std::pair{"p.json", kParticles}, std::pair{"g.json", kGradientFlow}}) {
            QFile f(d + "/" + name);
            if (f.open(QIODevice::WriteOnly)) f.write(json);
        }
        return d;
    }

private slots:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    // args: %P = particle scenario, %G = gradient-flow scenario, %D = the case folder; "@STRAY@" marks
    // the stray argument (the row runs once with it, refused, and once without it, accepted).
    void strayArgument_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("stray");
        QTest::addColumn<QString>("shown");  // how the message shows it
        const QString g = "gaussian:n=20,seed=1";
        const QString S = "@STRAY@";
        QTest::newRow("ot, last") << QStringList{"ot", "--source", g, "--target", g, S} << "extra" << "'extra'";
        QTest::newRow("ot, first") << QStringList{"ot", S, "--source", g, "--target", g} << "extra" << "'extra'";
        QTest::newRow("ot, control bytes") << QStringList{"ot", "--source", g, "--target", g, S} << "a\nb\x1b[1m" << "'a\\nb\\x1b[1m'";
        QTest::newRow("ot, lone dash") << QStringList{"ot", "--source", g, "--target", g, "--plan-out", "%D/plan.csv", S} << "-" << "'-'";
        QTest::newRow("ot, value of a flag") << QStringList{"ot", "--source", g, "--target", g, "--method", "sinkhorn", "--no-epsilon-scaling", S}
                                             << "yes" << "'yes'";
        QTest::newRow("measure") << QStringList{"measure", "--spec", g, "--out", "%D/m.csv", S} << "more.csv" << "'more.csv'";
        QTest::newRow("measure, between options") << QStringList{"measure", "--spec", g, S, "--out", "%D/m.csv"} << "disk:n=5" << "'disk:n=5'";
        QTest::newRow("simulate, second scenario") << QStringList{"simulate", "%P", "--out", "%D/out", S} << "again.json" << "'again.json'";
        QTest::newRow("simulate, value of --force") << QStringList{"simulate", "%P", "--force", S, "--out", "%D/out"} << "yes" << "'yes'";
        QTest::newRow("simulate, double dash") << QStringList{"simulate", "%P", "--out", "%D/out", S} << "--" << "'--'";
        QTest::newRow("sweep") << QStringList{"sweep", "%G", "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--out", "%D/s.csv", S} << "x" << "'x'";
        QTest::newRow("sweep --emit-jobs") << QStringList{"sweep", "%G", S, "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--emit-jobs", "%D/jobs"}
                                           << "other.json" << "'other.json'";
#ifdef TL_CLI_HAS_RENDER
        // Refused before the X server is needed: this runs without one.
        QTest::newRow("render") << QStringList{"render", "%P", "--out", "%D/r.gif", "--width", "64", "--height", "64", S} << "x.gif" << "'x.gif'";
#endif
        QTest::newRow("kinds") << QStringList{"kinds", S} << "gaussian" << "'gaussian'";
        QTest::newRow("scenario-reference") << QStringList{"scenario-reference", S} << "flow-matching" << "'flow-matching'";
        QTest::newRow("--version") << QStringList{"--version", S} << "now" << "'now'";
        QTest::newRow("help SUB") << QStringList{"help", "simulate", S} << "x" << "'x'";
    }
    void strayArgument() {
        QFETCH(QStringList, args);
        QFETCH(QString, stray);
        QFETCH(QString, shown);
        const QString dir = freshCase();
        auto expand = [&](QString a) { return a.replace("%P", dir + "/p.json").replace("%G", dir + "/g.json").replace("%D", dir); };
        QStringList with, without;
        for (const QString& a : args) {
            if (a == "@STRAY@") {
                with << expand(stray);
                continue;
            }
            with << expand(a);
            without << expand(a);
        }
        const QStringList before = dirTree(dir);
        const Run r = runCli(with);
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(r.exitCode == 2, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(err)));
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        QVERIFY2(err.startsWith("error: ") && err.endsWith('\n') && err.count('\n') == 1, qPrintable(err));
        QVERIFY2(err.contains("unexpected argument " + shown), qPrintable(err + "   (want " + shown + ")"));
        const QString cmd = args.front() == "help" ? args[1] : args.front();
        if (cmd != "--version") QVERIFY2(err.contains(cmd), qPrintable(err));
        QCOMPARE(dirTree(dir), before);
        qInfo("%s", qPrintable(err.trimmed()));

        // The same command line without the stray argument succeeds.
        const Run ok = runCli(without);
#ifdef TL_CLI_HAS_RENDER
        if (args.front() == "render" && ok.exitCode != 0 && QString::fromUtf8(ok.err).contains("X server"))
            TL_REQUIRE_OR_SKIP("the command without the stray argument needs an X server (run under xvfb-run)");
#endif
        QVERIFY2(ok.exitCode == 0, qPrintable(QString("without the stray argument: exit %1, %2").arg(ok.exitCode).arg(QString::fromUtf8(ok.err))));
    }

    // `help SUB` is `SUB --help`; `help NOSUCH` is an unknown command (exit 2, one line).
    void helpSubcommand() {
        for (const char* sub : {"ot", "measure", "simulate", "sweep", "render", "kinds", "scenario-reference"}) {
            const Run h = runCli({"help", sub});
            const Run direct = runCli({sub, "--help"});
            QVERIFY2(h.exitCode == 0 && h.err.isEmpty(), qPrintable(QString("help %1: exit %2, %3").arg(sub).arg(h.exitCode).arg(QString::fromUtf8(h.err))));
            QCOMPARE(h.out, direct.out);
            QVERIFY(h.out.contains(QByteArray("transportlab-cli ") + sub));
        }
        const Run r = runCli({"help", "nosuch"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.startsWith("error: unknown command 'nosuch'") && r.err.count('\n') == 1, r.err.constData());
    }

    // sweep --merge takes its PART.csv files as positional arguments: not stray.
    void mergeTakesParts() {
        const QString dir = freshCase();
        for (const char* name : {"a.csv", "b.csv"}) {
            QFile f(dir + "/" + name);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(name[0] == 'a' ? "value,t,energy\n0.1,0,1\n" : "value,t,energy\n0.2,0,2\n");
        }
        const Run r = runCli({"sweep", "--merge", dir + "/m.csv", dir + "/a.csv", dir + "/b.csv"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QFile m(dir + "/m.csv");
        QVERIFY(m.open(QIODevice::ReadOnly));
        QCOMPARE(m.readAll(), QByteArray("value,t,energy\n0.1,0,1\n0.2,0,2\n"));
    }
};

QTEST_GUILESS_MAIN(TestCliStray)
#include "tst_cli_stray.moc"
