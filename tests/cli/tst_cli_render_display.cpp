// Tests `transportlab-cli render` when DISPLAY names an X server that is not there (DISPLAY=:987 or
// the next display number with no server): the CLI probes the display before anything else and fails with exit 1,
// nothing on stdout, exactly one line `error: ...` on stderr naming the display, at once (no compute)
// and without a crash (VTK's X window aborts the process when it cannot connect), and leaves nothing
// in the output folder (no video, no '.x.mp4.tmp-*' temporary, no PNG folder). Needs no X server.
// In builds without the renderer (TL_BUILD_GUI=OFF) the same contract holds with "this build has no
// renderer" as the reason.
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
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    // A display number no X server uses here (no socket, no lock file), from 987 up.
    static QString freeDisplay() {
        for (int d = 987; d < 1200; ++d)
            if (!QFile::exists(QString("/tmp/.X11-unix/X%1").arg(d)) && !QFile::exists(QString("/tmp/.X%1-lock").arg(d))) return QString::number(d);
        return "987";
    }

    void unreachableDisplay_data() {
        QTest::addColumn<QString>("display");
        QTest::addColumn<QString>("out");  // relative to the case folder
        QTest::addColumn<QString>("shown");
        const QString d = freeDisplay();
        QTest::newRow(":D mp4") << ":" + d << "x.mp4" << "':" + d + "'";
        QTest::newRow(":D gif") << ":" + d << "x.gif" << "':" + d + "'";
        QTest::newRow(":D png folder") << ":" + d << "seq/" << "':" + d + "'";
        QTest::newRow(":D.0") << ":" + d + ".0" << "x.mp4" << "':" + d + ".0'";
        QTest::newRow("unix:D") << "unix:" + d << "x.mp4" << "'unix:" + d + "'";
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
#ifdef TL_CLI_HAS_RENDER
        QVERIFY2(err.contains("X server") && err.contains(shown), qPrintable(err + "   (want " + shown + ")"));
#else
        // A build without the renderer (TL_BUILD_GUI=OFF) refuses render the same way, with its own reason.
        QVERIFY2(err.contains("this build has no renderer"), qPrintable(err));
#endif
        QCOMPARE(dirTree(dir), before);
        QVERIFY2(r.ms < 5000, qPrintable(QString("%1 ms: the display is probed before the scenario runs").arg(r.ms)));
        qInfo("%s", qPrintable(err.trimmed()));
    }
};

QTEST_GUILESS_MAIN(TestCliRenderDisplay)
#include "tst_cli_render_display.moc"
