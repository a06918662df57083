// Tests of the transportlab executable's headless contract: --screenshot FILE renders once, writes a PNG
// and exits 0; a bad SPEC or an unwritable FILE exits 1 with a message on stderr. Needs an X display.
#include <QColor>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <cstdlib>

namespace {

struct Run {
    int exitCode = -1;
    QString stdErr;
};

Run runGui(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(TL_GUI_PATH), args);
    Run r;
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
        r.stdErr = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.stdErr = QString::fromLocal8Bit(p.readAllStandardError());
    return r;
}

// Blue-ish (source) and orange-ish (target) pixels: hue bands, saturated, not dark.
bool isBlue(QColor c) { return c.hsvSaturation() > 100 && c.value() > 120 && c.hsvHue() >= 190 && c.hsvHue() <= 230; }
bool isOrange(QColor c) { return c.hsvSaturation() > 100 && c.value() > 120 && c.hsvHue() >= 15 && c.hsvHue() <= 45; }

}  // namespace

class TstTransportlabGui : public QObject {
    Q_OBJECT

private slots:
    void screenshotOfTheDefaultScene() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString png = dir.filePath("shot.png");
        const Run r = runGui({"--screenshot", png, "--color", "uniform"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.stdErr));

        QImage img(png);
        QVERIFY(!img.isNull());
        QVERIFY2(img.width() >= 1000 && img.height() >= 600, qPrintable(QString("%1x%2").arg(img.width()).arg(img.height())));
        img = img.convertToFormat(QImage::Format_RGB32);
        int dark = 0, blue = 0, orange = 0, bright = 0;
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x) {
                const QColor c(img.pixel(x, y));
                dark += c.value() < 50 ? 1 : 0;
                blue += isBlue(c) ? 1 : 0;
                orange += isOrange(c) ? 1 : 0;
                if (y < img.height() / 12) bright += c.value() > 200 && c.hsvSaturation() < 40 ? 1 : 0;
            }
        const int total = img.width() * img.height();
        QVERIFY2(dark > total / 2, qPrintable(QString("dark pixels: %1 of %2").arg(dark).arg(total)));
        QVERIFY2(blue > 20000, qPrintable(QString("source (blue) pixels: %1").arg(blue)));
        // The views share the window with the docks and the axes: ~950 target pixels at 1440 x 900
        // (orange is the target's alone: panels and components have other colours).
        QVERIFY2(orange > 500, qPrintable(QString("target (orange) pixels: %1").arg(orange)));
        QVERIFY2(bright > 300, qPrintable(QString("title pixels: %1").arg(bright)));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"shot.png"});  // no temporary left
    }

    void otherSpecs() {
        QTemporaryDir dir;
        const QString png = dir.filePath("other.png");
        const Run r = runGui({"--source", "moons:n=300,seed=3", "--target", "gaussian:n=300,seed=4", "--screenshot", png});
        QVERIFY2(r.exitCode == 0, qPrintable(r.stdErr));
        QVERIFY(!QImage(png).isNull());
    }

    void badSpecFailsWithAMessage() {
        QTemporaryDir dir;
        const QString png = dir.filePath("never.png");
        const Run r = runGui({"--source", "no-such-kind:n=10", "--screenshot", png});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.stdErr.contains("transportlab:"), qPrintable(r.stdErr));
        QVERIFY(r.stdErr.contains("no-such-kind"));
        QVERIFY(!QFileInfo::exists(png));
    }

    void unwritableScreenshotFails() {
        const Run r = runGui({"--screenshot", "/nonexistent-dir/sub/shot.png"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.stdErr.contains("cannot write"), qPrintable(r.stdErr));
    }
};

QTEST_GUILESS_MAIN(TstTransportlabGui)
#include "tst_transportlab_gui.moc"
