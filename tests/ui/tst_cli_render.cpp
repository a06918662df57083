// Tests `transportlab-cli render SCENARIO.json --out FILE.mp4|FILE.gif|DIR/ [--width W] [--height H]
// [--fps F] [--panel K] [--layers L] [--color C]` through QProcess: exit 0 and one JSON object on
// stdout (frames = the scenario's frames); the outputs checked with ffprobe (codec, size, exact frame
// count, frame rate) and decoded (not blank, particles move); the PNG sequence file by file. Errors
// (odd MP4 size, unknown extension, missing folder, bad --layers word, missing scenario, --panel out of
// range, no DISPLAY) exit 1 with one line on stderr starting "error:" and write nothing. Lives with the
// ui tests because `render` needs an X server (run under xvfb-run) and a GUI build; seeded measures.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSet>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "test_support.h"

#include <cmath>
#include <csignal>

namespace {



using namespace tltest;  // the helpers of tests/common

// Frame `index` of a video decoded by ffmpeg (seeking by time, as a user would).
QImage decodeAt(const QString& video, double seconds, const QString& png) {
    const Run r = runProgram("ffmpeg", {"-v", "error", "-y", "-ss", QString::number(seconds), "-i", video, "-frames:v", "1", png});
    if (r.exitCode != 0) qWarning("ffmpeg: exit %d: %s", r.exitCode, r.err.constData());
    return QImage(png).convertToFormat(QImage::Format_RGB32);
}

int distinctColours(const QImage& img) {
    QSet<QRgb> s;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) s.insert(img.pixel(x, y) | 0xff000000u);
    return static_cast<int>(s.size());
}

// Pixels that differ between two images of the same size by more than 40 in some channel.
int changedPixels(const QImage& a, const QImage& b) {
    int n = 0;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x) {
            const QRgb p = a.pixel(x, y), q = b.pixel(x, y);
            n += (std::abs(qRed(p) - qRed(q)) > 40 || std::abs(qGreen(p) - qGreen(q)) > 40 || std::abs(qBlue(p) - qBlue(q)) > 40) ? 1 : 0;
        }
    return n;
}

// Two panels (exact OT, closed-form flow matching), 300 particles, 11 frames.
const QByteArray kScenario = R"json({"name": "render-test", "source": "gaussian:n=300,seed=1", "target": "moons:n=300,seed=2", "frames": 11,
  "panels": [{"dynamics": "ot-displacement", "method": "exact"},
             {"dynamics": "flow-matching", "field": "closed-form", "integrator": "rk4", "steps": 20}]})json";
constexpr int kFrames = 11;

}  // namespace

class TestCliRender : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    int case_ = 0;

    // A fresh folder holding only scenario.json.
    QString freshCase(QString* scenario) {
        const QString d = tmp_.filePath(QString("case%1").arg(case_++));
        QDir().mkpath(d);
        *scenario = d + "/scenario.json";
        writeText(*scenario, kScenario);
        return d;
    }

    // The success contract: exit 0, one JSON object on stdout describing the output.
    void checkSummary(const Run& r, const QString& out, int width, int height, double fps) {
        QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
        const QByteArray line = r.out.trimmed();
        QVERIFY2(!line.isEmpty() && !line.contains('\n'), r.out.constData());
        QJsonParseError pe;
        const QJsonObject j = QJsonDocument::fromJson(line, &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, r.out.constData());
        QCOMPARE(j.value("frames").toInt(), kFrames);
        QCOMPARE(j.value("width").toInt(), width);
        QCOMPARE(j.value("height").toInt(), height);
        QCOMPARE(j.value("fps").toDouble(), fps);
        QCOMPARE(j.value("out").toString(), out);
        QVERIFY(j.value("compute_seconds").toDouble() >= 0);
        QVERIFY(j.value("render_seconds").toDouble() > 0);
        qInfo("render %s: compute %.3f s, render %.3f s (%.1f frames/s)", qPrintable(QFileInfo(out).fileName()), j.value("compute_seconds").toDouble(),
              j.value("render_seconds").toDouble(), j.value("frames_per_second").toDouble());
    }

    // The error contract: exit 1, nothing on stdout, one line on stderr starting "error:" and containing
    // every needle, the folder exactly as before.
    void checkError(const Run& r, const QStringList& needles, const QString& dir, const QStringList& before) {
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(r.exitCode == 1, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(err)));
        QVERIFY2(r.out.isEmpty(), qPrintable("stdout: " + QString::fromUtf8(r.out)));
        QVERIFY2(err.startsWith("error:") && !err.contains('\n'), qPrintable("stderr: " + err));
        for (const QString& n : needles) QVERIFY2(err.contains(n), qPrintable(QString("'%1' not in: %2").arg(n, err)));
        QCOMPARE(dirEntries(dir), before);
        qInfo("%s", qPrintable(err));
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QVERIFY2(QFile::exists(QStringLiteral(TL_CLI_PATH)), TL_CLI_PATH);
        QVERIFY2(!qEnvironmentVariableIsEmpty("DISPLAY"), "render needs an X server: run under xvfb-run -a");
        QVERIFY2(!QStandardPaths::findExecutable("ffprobe").isEmpty(), "ffprobe not found (Debian package ffmpeg)");
    }

    void mp4() {
        QString scenario;
        const QString dir = freshCase(&scenario);
        const QString out = dir + "/x.mp4";
        const Run r = runCli({"render", scenario, "--out", out, "--width", "320", "--height", "240", "--fps", "12"});
        checkSummary(r, out, 320, 240, 12);
        if (QTest::currentTestFailed()) return;
        const QJsonObject s = tltest::probeVideo(out);
        QCOMPARE(s.value("codec_name").toString(), QString("h264"));
        QCOMPARE(s.value("width").toInt(), 320);
        QCOMPARE(s.value("height").toInt(), 240);
        QCOMPARE(s.value("nb_read_frames").toString(), QString::number(kFrames));
        QCOMPARE(s.value("r_frame_rate").toString(), QString("12/1"));
        QCOMPARE(s.value("pix_fmt").toString(), QString("yuv420p"));
        // Decoded frames are not blank, and the particles move between the first and the last.
        const QImage first = decodeAt(out, 0.0, dir + "/first.png");
        const QImage last = decodeAt(out, (kFrames - 1) / 12.0, dir + "/last.png");
        QCOMPARE(first.size(), QSize(320, 240));
        QCOMPARE(last.size(), QSize(320, 240));
        QVERIFY2(distinctColours(first) > 50, qPrintable(QString("first frame: %1 colours").arg(distinctColours(first))));
        QVERIFY2(distinctColours(last) > 50, qPrintable(QString("last frame: %1 colours").arg(distinctColours(last))));
        const int moved = changedPixels(first, last);
        QVERIFY2(moved > 500, qPrintable(QString("first and last frames differ in %1 pixels").arg(moved)));
        QCOMPARE(dirEntries(dir), (QStringList{"first.png", "last.png", "scenario.json", "x.mp4"}));
    }

    void gif() {
        QString scenario;
        const QString dir = freshCase(&scenario);
        const QString out = dir + "/x.gif";
        const Run r = runCli({"render", scenario, "--out", out, "--width", "320", "--height", "240", "--fps", "12"});
        checkSummary(r, out, 320, 240, 12);
        if (QTest::currentTestFailed()) return;
        const QJsonObject s = tltest::probeVideo(out);
        QCOMPARE(s.value("codec_name").toString(), QString("gif"));
        QCOMPARE(s.value("width").toInt(), 320);
        QCOMPARE(s.value("height").toInt(), 240);
        QCOMPARE(s.value("nb_read_frames").toString(), QString::number(kFrames));
        QCOMPARE(dirEntries(dir), (QStringList{"scenario.json", "x.gif"}));
    }

    void pngSequence() {
        QString scenario;
        const QString dir = freshCase(&scenario);
        const QString out = dir + "/seq/";
        const Run r = runCli({"render", scenario, "--out", out, "--width", "320", "--height", "240", "--fps", "12", "--panel", "2", "--layers",
                              "particles,trajectories,density", "--color", "speed"});
        checkSummary(r, out, 320, 240, 12);
        if (QTest::currentTestFailed()) return;
        const QStringList files = dirEntries(dir + "/seq");
        QCOMPARE(files.size(), kFrames);
        QImage first, last;
        for (int k = 0; k < kFrames; ++k) {
            QCOMPARE(files[k], QString("frame_%1.png").arg(k, 4, 10, QChar('0')));
            const QImage img = QImage(dir + "/seq/" + files[k]).convertToFormat(QImage::Format_RGB32);
            QCOMPARE(img.size(), QSize(320, 240));
            QVERIFY2(distinctColours(img) > 50, qPrintable(QString("%1: %2 colours").arg(files[k]).arg(distinctColours(img))));
            if (k == 0) first = img;
            if (k == kFrames - 1) last = img;
        }
        QVERIFY(changedPixels(first, last) > 500);
        QCOMPARE(dirEntries(dir), (QStringList{"scenario.json", "seq"}));
    }

    void errors_data() {
        QTest::addColumn<QStringList>("args");  // %S = scenario, %D = case folder
        QTest::addColumn<QStringList>("expect");
        const QStringList size = {"--width", "320", "--height", "240"};
        QTest::newRow("odd width for MP4") << (QStringList{"render", "%S", "--out", "%D/x.mp4", "--width", "321", "--height", "240"}) << QStringList{"even"};
        QTest::newRow("unknown extension") << (QStringList{"render", "%S", "--out", "%D/x.avi"} + size) << QStringList{"x.avi"};
        QTest::newRow("missing parent folder") << (QStringList{"render", "%S", "--out", "%D/nodir/x.mp4"} + size) << QStringList{"nodir"};
        QTest::newRow("bad --layers word") << (QStringList{"render", "%S", "--out", "%D/x.mp4", "--layers", "particles,sparkles"} + size)
                                           << QStringList{"sparkles"};
        QTest::newRow("bad --color") << (QStringList{"render", "%S", "--out", "%D/x.mp4", "--color", "rainbow"} + size) << QStringList{"rainbow"};
        QTest::newRow("missing scenario file") << (QStringList{"render", "%D/nope.json", "--out", "%D/x.mp4"} + size) << QStringList{"nope.json"};
        QTest::newRow("--panel out of range") << (QStringList{"render", "%S", "--out", "%D/x.mp4", "--panel", "3"} + size) << QStringList{"--panel"};
        QTest::newRow("missing --out") << (QStringList{"render", "%S"} + size) << QStringList{"--out"};
        QTest::newRow("bad --fps") << (QStringList{"render", "%S", "--out", "%D/x.mp4", "--fps", "0"} + size) << QStringList{"--fps"};
    }
    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QStringList, expect);
        QString scenario;
        const QString dir = freshCase(&scenario);
        for (QString& a : args) a.replace("%S", scenario).replace("%D", dir);
        const QStringList before = dirEntries(dir);
        const Run r = runCli(args);
        checkError(r, expect, dir, before);
    }

    void noDisplay() {
        QString scenario;
        const QString dir = freshCase(&scenario);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove("DISPLAY");
        env.remove("WAYLAND_DISPLAY");
        const QStringList before = dirEntries(dir);
        const Run r = runCli({"render", scenario, "--out", dir + "/x.mp4", "--width", "320", "--height", "240"}, {.env = env});
        checkError(r, {"xvfb-run"}, dir, before);
    }

    // SIGINT or SIGTERM while the panels compute (the same StopSignals as simulate): the run is
    // cancelled, one line "interrupted by SIGINT|SIGTERM", exit 130 / 143, and nothing is left in the folder.
    void signalLeavesNothing_data() {
        QTest::addColumn<int>("signal");
        QTest::newRow("SIGINT") << SIGINT;
        QTest::newRow("SIGTERM") << SIGTERM;
    }
    void signalLeavesNothing() {
        QFETCH(int, signal);
        QString unused;
        const QString dir = freshCase(&unused);
        const QString scenario = dir + "/long.json";
        writeText(scenario, R"({"source": "gaussian:n=2000,seed=1", "target": "moons:n=2000,seed=2", "frames": 11,
                               "panels": [{"dynamics": "flow-matching", "field": "learned", "iterations": 1000000}]})");
        const QStringList before = dirEntries(dir);
        QProcess p;
        p.start(QStringLiteral(TL_CLI_PATH), {"render", scenario, "--out", dir + "/x.mp4", "--width", "320", "--height", "240"});
        QVERIFY(p.waitForStarted(10000));
        QTest::qWait(1500);  // training has started
        QCOMPARE(p.state(), QProcess::Running);
        ::kill(static_cast<pid_t>(p.processId()), signal);
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 128 + signal);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.startsWith(QString("error: interrupted by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM")) && !err.contains('\n'), qPrintable(err));
        QCOMPARE(dirEntries(dir), before);
    }
};

QTEST_GUILESS_MAIN(TestCliRender)
#include "tst_cli_render.moc"
