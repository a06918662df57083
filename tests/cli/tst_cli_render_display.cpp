// Tests `transportlab-cli render` when DISPLAY names an X server that is not there (DISPLAY=:987, no
// server on display 987): the CLI probes the display before anything else and fails with exit 1,
// nothing on stdout, exactly one line `error: ...` on stderr naming the display, at once (no compute)
// and without a crash (VTK's X window aborts the process when it cannot connect), and leaves nothing
// in the output folder (no video, no '.x.mp4.tmp-*' temporary, no PNG folder). Needs no X server;
// skipped in builds without the renderer (TL_BUILD_GUI=OFF).
#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>

namespace {

using namespace tltest;  // the helpers of tests/common

// Enough work that running the scenario before probing the display would show in the time taken.
const QByteArray kScenario =
    R"({"source": "gaussian:n=4000,seed=1", "target": "moons:n=4000,seed=2", "frames": 30,
        "panels": [{"dynamics": "flow-matching", "field": "closed-form", "steps": 400}]})";

}  // namespace

class TestCliRenderDisplay : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    int case_ = 0;

private slots:
    void initTestCase() {
#ifndef TL_CLI_HAS_RENDER
        QSKIP("this build has no renderer (TL_BUILD_GUI=OFF)");
#endif
        QVERIFY(tmp_.isValid());
        if (QFile::exists("/tmp/.X11-unix/X987")) QSKIP("an X server listens on display :987 here");
    }

    void unreachableDisplay_data() {
        QTest::addColumn<QString>("display");
        QTest::addColumn<QString>("out");  // relative to the case folder
        QTest::addColumn<QString>("shown");
        QTest::newRow(":987 mp4") << ":987" << "x.mp4" << "':987'";
        QTest::newRow(":987 gif") << ":987" << "x.gif" << "':987'";
        QTest::newRow(":987 png folder") << ":987" << "seq/" << "':987'";
        QTest::newRow(":987.0") << ":987.0" << "x.mp4" << "':987.0'";
        QTest::newRow("unix:987") << "unix:987" << "x.mp4" << "'unix:987'";
        QTest::newRow("not a display name") << "no display\n" << "x.mp4" << "'no display\\n'";
    }
    void unreachableDisplay() {
        QFETCH(QString, display);
        QFETCH(QString, out);
        QFETCH(QString, shown);
        const QString dir = tmp_.filePath(QString("case%1").arg(case_++));
        QVERIFY(QDir().mkpath(dir));
        {
            QFile f(dir + "/scenario.json");
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(kScenario);
        }
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("DISPLAY", display);
        env.remove("WAYLAND_DISPLAY");
        const QStringList before = dirTree(dir);
        const Run r = runCli({"render", dir + "/scenario.json", "--out", dir + "/" + out, "--width", "64", "--height", "64"}, {.env = env});
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(r.exitCode != 0, qPrintable(err));
        QVERIFY2(r.exitCode == 1, qPrintable(QString("exit %1 (-2: crashed), stderr: %2").arg(r.exitCode).arg(err)));
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        QVERIFY2(err.startsWith("error: ") && err.endsWith('\n') && err.count('\n') == 1, qPrintable("stderr: " + err));
        QVERIFY2(err.contains("X server") && err.contains(shown), qPrintable(err + "   (want " + shown + ")"));
        QCOMPARE(dirTree(dir), before);
        QVERIFY2(r.ms < 5000, qPrintable(QString("%1 ms: the display is probed before the scenario runs").arg(r.ms)));
        qInfo("%s", qPrintable(err.trimmed()));
    }
};

QTEST_GUILESS_MAIN(TestCliRenderDisplay)
#include "tst_cli_render_display.moc"
