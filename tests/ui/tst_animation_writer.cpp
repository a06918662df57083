// Tests AnimationWriter (ui/export/animation_writer.h) on synthetic frames (a coloured disc moving
// left to right, drawn with QPainter): MP4 and GIF checked with ffprobe (codec, size, exact frame
// count, frame rate) and one frame decoded back with ffmpeg (disc colour and position); PNG sequences
// checked file by file and pixel by pixel. Cancel, destruction, errors and bad parameters leave the
// parent folder exactly as it was; an existing target is replaced only in finish(). Also times
// 1280x720 MP4 encoding (printed with qInfo).
#include "export/animation_writer.h"
#include "util/error.h"
#include "util/rng.h"

#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <cmath>
#include <functional>
#include <unistd.h>
#include <vector>

using tl::ui::AnimationFormat;
using tl::ui::AnimationWriter;

namespace {

using namespace tltest;  // the helpers of tests/common

const QColor kBackground(20, 24, 40);
const QColor kDisc(230, 60, 40);
constexpr int kRadius = 30;

// The disc's centre in frame k of n, for a w x h image: left to right along the middle.
QPointF discCentre(int k, int n, int w, int h) {
    const double x0 = kRadius + 10, x1 = w - kRadius - 10;
    return {x0 + (x1 - x0) * k / double(std::max(1, n - 1)), h / 2.0};
}

QImage discFrame(int k, int n, int w, int h) {
    QImage img(w, h, QImage::Format_RGB32);
    img.fill(kBackground);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(Qt::NoPen);
    p.setBrush(kDisc);
    p.drawEllipse(discCentre(k, n, w, h), kRadius, kRadius);
    return img;
}

bool near(QRgb p, const QColor& c, int tol) {
    return std::abs(qRed(p) - c.red()) <= tol && std::abs(qGreen(p) - c.green()) <= tol && std::abs(qBlue(p) - c.blue()) <= tol;
}

QString rgbText(QRgb p) { return QString("(%1,%2,%3)").arg(qRed(p)).arg(qGreen(p)).arg(qBlue(p)); }

// Frame `index` of a video decoded to an RGB image by ffmpeg.
QImage decodeFrame(const QString& file, int index, const QString& pngOut) {
    const Run r = runProgram("ffmpeg", {"-v", "error", "-y", "-i", file, "-vf", QString("select=eq(n\\,%1)").arg(index), "-frames:v", "1",
                                      "-pix_fmt", "rgb24", pngOut});
    if (r.exitCode != 0) qWarning("ffmpeg: exit %d: %s", r.exitCode, r.err.constData());
    return QImage(pngOut).convertToFormat(QImage::Format_RGB32);
}

// Calls f, expects a tl::Error whose one-line message contains every needle.
void expectError(const std::function<void()>& f, const QStringList& needles) {
    try {
        f();
        QFAIL(qPrintable("no error; expected one containing " + needles.join(", ")));
    } catch (const tl::Error& e) {
        const QString msg = QString::fromUtf8(e.what());
        qInfo("%s", qPrintable(msg));
        QVERIFY2(!msg.contains('\n'), qPrintable(msg));
        for (const QString& n : needles) QVERIFY2(msg.contains(n), qPrintable(QString("'%1' not in: %2").arg(n, msg)));
    }
}

}  // namespace

class TestAnimationWriter : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QVERIFY2(!QStandardPaths::findExecutable("ffprobe").isEmpty(), "ffprobe not found (Debian package ffmpeg, scripts/install-deps.sh)");
        QVERIFY2(!QStandardPaths::findExecutable("ffmpeg").isEmpty(), "ffmpeg not found (Debian package ffmpeg)");
    }

    void formats() {
        QTemporaryDir tmp;
        QCOMPARE(AnimationWriter::formatFor("a/b/movie.mp4"), AnimationFormat::Mp4);
        QCOMPARE(AnimationWriter::formatFor("MOVIE.MP4"), AnimationFormat::Mp4);
        QCOMPARE(AnimationWriter::formatFor("loop.gif"), AnimationFormat::Gif);
        QCOMPARE(AnimationWriter::formatFor("frames/"), AnimationFormat::PngSequence);
        QCOMPARE(AnimationWriter::formatFor(tmp.path().toStdString()), AnimationFormat::PngSequence);
        expectError([] { AnimationWriter::formatFor("movie.avi"); }, {"movie.avi", ".mp4", ".gif", "PNG sequence"});
        expectError([] { AnimationWriter::formatFor("noextension"); }, {"noextension", ".mp4"});
    }

    // MP4: H.264, the size asked for, exactly the frames added at exactly the fps; frame 20 decoded
    // back shows the disc where it was drawn, in its colour, over the background.
    void mp4() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString file = tmp.path() + "/movie.mp4";
        const int n = 48, w = 320, h = 240;
        {
            AnimationWriter writer(file.toStdString(), w, h, 24);
            QCOMPARE(writer.format(), AnimationFormat::Mp4);
            for (int k = 0; k < n; ++k) {
                writer.addFrame(discFrame(k, n, w, h));
                QVERIFY(!QFile::exists(file));  // the target appears only complete
            }
            QCOMPARE(writer.framesWritten(), n);
            writer.finish();
            QVERIFY(!writer.isOpen());
        }
        QCOMPARE(dirEntries(tmp.path()), QStringList{"movie.mp4"});
        const QJsonObject s = tltest::probeVideo(file);
        QCOMPARE(s.value("codec_name").toString(), QString("h264"));
        QCOMPARE(s.value("width").toInt(), w);
        QCOMPARE(s.value("height").toInt(), h);
        QCOMPARE(s.value("pix_fmt").toString(), QString("yuv420p"));
        QCOMPARE(s.value("nb_read_frames").toString(), QString::number(n));
        QCOMPARE(s.value("r_frame_rate").toString(), QString("24/1"));

        const int k = 20;
        const QImage img = decodeFrame(file, k, tmp.path() + "/f20.png");
        QCOMPARE(img.size(), QSize(w, h));
        const QPointF c = discCentre(k, n, w, h);
        const QRgb centre = img.pixel(c.toPoint());
        QVERIFY2(near(centre, kDisc, 16), qPrintable("disc centre " + rgbText(centre)));
        const QRgb left = img.pixel((c - QPointF(kRadius + 12, 0)).toPoint());
        const QRgb right = img.pixel((c + QPointF(kRadius + 12, 0)).toPoint());
        QVERIFY2(near(left, kBackground, 16) && near(right, kBackground, 16), qPrintable(rgbText(left) + " " + rgbText(right)));
        const QRgb firstPlace = img.pixel(discCentre(0, n, w, h).toPoint());  // the disc has moved on
        QVERIFY2(near(firstPlace, kBackground, 16), qPrintable(rgbText(firstPlace)));
    }

    // A non-integer rate is kept exactly (29.97 = 2997/100), still one video frame per addFrame.
    void mp4FractionalRate() {
        QTemporaryDir tmp;
        const QString file = tmp.path() + "/ntsc.mp4";
        AnimationWriter writer(file.toStdString(), 160, 120, 29.97);
        for (int k = 0; k < 17; ++k) writer.addFrame(discFrame(k, 17, 160, 120));
        writer.finish();
        const QJsonObject s = tltest::probeVideo(file);
        QCOMPARE(s.value("nb_read_frames").toString(), QString("17"));
        QCOMPARE(s.value("r_frame_rate").toString(), QString("2997/100"));
    }

    // GIF: size and exact frame count; a decoded frame shows the disc in roughly its colour (the
    // palette is per frame, the background is reproduced exactly).
    void gif() {
        QTemporaryDir tmp;
        const QString file = tmp.path() + "/loop.gif";
        const int n = 30, w = 200, h = 150;
        {
            AnimationWriter writer(file.toStdString(), w, h, 10);
            QCOMPARE(writer.format(), AnimationFormat::Gif);
            for (int k = 0; k < n; ++k) {
                // A smooth gradient band too, so the frame has more than 256 colours (dithered path).
                QImage img = discFrame(k, n, w, h);
                QPainter p(&img);
                QLinearGradient g(0, 0, w, 0);
                g.setColorAt(0, QColor(0, 128, 255));
                g.setColorAt(1, QColor(255, 200, 0));
                p.fillRect(0, 0, w, 20, g);
                p.end();
                writer.addFrame(img);
            }
            writer.finish();
        }
        QCOMPARE(dirEntries(tmp.path()), QStringList{"loop.gif"});
        const QJsonObject s = tltest::probeVideo(file);
        QCOMPARE(s.value("codec_name").toString(), QString("gif"));
        QCOMPARE(s.value("width").toInt(), w);
        QCOMPARE(s.value("height").toInt(), h);
        QCOMPARE(s.value("nb_read_frames").toString(), QString::number(n));
        QCOMPARE(s.value("r_frame_rate").toString(), QString("10/1"));
        const int k = 12;
        const QImage img = decodeFrame(file, k, tmp.path() + "/g12.png");
        QCOMPARE(img.size(), QSize(w, h));
        const QPointF c = discCentre(k, n, w, h);
        QVERIFY2(near(img.pixel(c.toPoint()), kDisc, 10), qPrintable(rgbText(img.pixel(c.toPoint()))));
        QVERIFY2(img.pixel(5, h - 5) == kBackground.rgb(), qPrintable(rgbText(img.pixel(5, h - 5))));
        QVERIFY2(near(img.pixel(discCentre(0, n, w, h).toPoint()), kBackground, 0), "the disc did not move");
        // The gradient stays a gradient (dithered, but locally averaging to the source colour).
        int sumR = 0, sumB = 0;
        for (int y = 2; y < 18; ++y)
            for (int x = w / 2 - 4; x < w / 2 + 4; ++x) {
                sumR += qRed(img.pixel(x, y));
                sumB += qBlue(img.pixel(x, y));
            }
        QVERIFY2(std::abs(sumR / 128 - 127) < 12 && std::abs(sumB / 128 - 127) < 12, qPrintable(QString("%1 %2").arg(sumR / 128).arg(sumB / 128)));
    }

    // PNG sequence: frame_0000.png ... with exactly the pixels drawn; frames of another size are scaled.
    void pngSequence() {
        QTemporaryDir tmp;
        const QString dir = tmp.path() + "/seq";
        const int n = 12, w = 160, h = 100;
        {
            AnimationWriter writer((dir + "/").toStdString(), w, h, 12);
            QCOMPARE(writer.format(), AnimationFormat::PngSequence);
            for (int k = 0; k < n - 1; ++k) writer.addFrame(discFrame(k, n, w, h));
            writer.addFrame(discFrame(n - 1, n, 2 * w, 2 * h));  // twice the size: scaled down
            QVERIFY(!QFileInfo::exists(dir));
            writer.finish();
        }
        QCOMPARE(dirEntries(tmp.path()), QStringList{"seq"});
        QStringList expected;
        for (int k = 0; k < n; ++k) expected << QString("frame_%1.png").arg(k, 4, 10, QChar('0'));
        QCOMPARE(dirEntries(dir), expected);
        const QImage five = QImage(dir + "/frame_0005.png").convertToFormat(QImage::Format_RGB32);
        QCOMPARE(five, discFrame(5, n, w, h));
        const QImage last(dir + "/frame_0011.png");
        QCOMPARE(last.size(), QSize(w, h));
    }

    // Cancelling midway (explicitly, or by destroying the writer) leaves the parent folder as it was.
    void cancelLeavesNothing_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("destroyOnly");
        for (const char* name : {"c.mp4", "c.gif", "seq/"}) {
            QTest::addRow("%s cancel()", name) << QString(name) << false;
            QTest::addRow("%s destroyed", name) << QString(name) << true;
        }
    }
    void cancelLeavesNothing() {
        QFETCH(QString, name);
        QFETCH(bool, destroyOnly);
        QTemporaryDir tmp;
        writeText(tmp.path() + "/other.txt", "x");
        const QStringList before = dirEntries(tmp.path());
        {
            AnimationWriter writer((tmp.path() + "/" + name).toStdString(), 64, 48, 8);
            for (int k = 0; k < 5; ++k) writer.addFrame(discFrame(k, 10, 64, 48));
            QVERIFY(dirEntries(tmp.path()).size() == before.size() + 1);  // the hidden temporary
            if (!destroyOnly) {
                writer.cancel();
                QVERIFY(!writer.isOpen());
                QCOMPARE(dirEntries(tmp.path()), before);
                expectError([&] { writer.addFrame(discFrame(0, 1, 64, 48)); }, {"cancelled"});
                writer.cancel();  // idempotent
            }
        }
        QCOMPARE(dirEntries(tmp.path()), before);
    }

    // Impossible parameters: a one-line tl::Error naming the problem, and nothing written.
    void errors() {
        QTemporaryDir tmp;
        const QString d = tmp.path();
        const QStringList before = dirEntries(d);
        auto make = [](const QString& path, int w, int h, double fps) {
            return [=] { AnimationWriter writer(path.toStdString(), w, h, fps); };
        };
        expectError(make(d + "/x.avi", 64, 48, 10), {"x.avi", ".mp4", ".gif"});
        expectError(make(d + "/odd.mp4", 321, 240, 10), {"odd.mp4", "even", "321x240"});
        expectError(make(d + "/zero.mp4", 320, 240, 0), {"zero.mp4", "frame rate"});
        expectError(make(d + "/neg.gif", 320, 240, -5), {"frame rate"});
        expectError(make(d + "/nan.gif", 320, 240, std::nan("")), {"frame rate"});
        expectError(make(d + "/fast.gif", 320, 240, 60), {"GIF", "50"});
        expectError(make(d + "/empty.mp4", 0, 240, 10), {"size", "0x240"});
        expectError(make(d + "/huge.gif", 20000, 20, 10), {"size"});
        // the memory cap: 12 million pixels per frame, any aspect (8192 x 8192 peaked at 4.4 GB)
        expectError(make(d + "/big.mp4", 8192, 8192, 10), {"big.mp4", "8192x8192", "cap", "12 million", "1.5 GB"});
        expectError(make(d + "/wide.gif", 8192, 1466, 10), {"cap"});
        expectError(make(d + "/seq4k/", 4002, 3000, 10), {"cap"});
        { AnimationWriter atCap((d + "/cap.mp4").toStdString(), 4000, 3000, 10); atCap.cancel(); }
        { AnimationWriter wide((d + "/wide.mp4").toStdString(), 8000, 1500, 10); wide.cancel(); }
        expectError(make(d + "/missing/m.mp4", 64, 48, 10), {"missing", "does not exist"});
        expectError(make(d + "/missing/seq/", 64, 48, 10), {"missing", "does not exist"});
        QCOMPARE(dirEntries(d), before);
        // An unwritable place (skipped as root, who can write anywhere).
        const QString ro = d + "/ro";
        QVERIFY(QDir().mkpath(ro));
        QFile::setPermissions(ro, QFileDevice::ReadOwner | QFileDevice::ExeOwner);
        if (QFileInfo(ro).isWritable() || ::geteuid() == 0) {
            qInfo("running as root: the unwritable-folder case is skipped");
        } else {
            expectError(make(ro + "/a.mp4", 64, 48, 10), {"a.mp4", "ermission"});
            expectError(make(ro + "/seq/", 64, 48, 10), {"seq", "ermission"});
            QVERIFY(dirEntries(ro).isEmpty());
        }
        QFile::setPermissions(ro, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        // No frames, then finish: an error, nothing left; use after finish: an error.
        {
            AnimationWriter writer((d + "/none.mp4").toStdString(), 64, 48, 10);
            expectError([&] { writer.finish(); }, {"none.mp4", "no frames"});
            QVERIFY(!writer.isOpen());
        }
        {
            AnimationWriter writer((d + "/null.gif").toStdString(), 64, 48, 10);
            expectError([&] { writer.addFrame(QImage()); }, {"empty"});
        }
        QVERIFY(!QFileInfo::exists(d + "/none.mp4") && !QFileInfo::exists(d + "/null.gif"));
        QCOMPARE(dirEntries(d), QStringList{"ro"});
    }

    // An existing file is replaced only by finish() (before it, the old bytes are still there; after a
    // cancel, too); a previous PNG sequence is replaced as a whole; a folder with other files is refused.
    void replaceOnlyAtFinish() {
        QTemporaryDir tmp;
        const QString file = tmp.path() + "/movie.mp4";
        writeText(file, "old");
        {
            AnimationWriter writer(file.toStdString(), 64, 48, 10);
            for (int k = 0; k < 3; ++k) writer.addFrame(discFrame(k, 3, 64, 48));
            writer.cancel();
        }
        QCOMPARE(readAll(file), QByteArray("old"));
        {
            AnimationWriter writer(file.toStdString(), 64, 48, 10);
            for (int k = 0; k < 6; ++k) writer.addFrame(discFrame(k, 6, 64, 48));
            QCOMPARE(readAll(file), QByteArray("old"));
            writer.finish();
        }
        QCOMPARE(tltest::probeVideo(file).value("nb_read_frames").toString(), QString("6"));
        QCOMPARE(dirEntries(tmp.path()), QStringList{"movie.mp4"});

        // A previous sequence (frame_0000..0004) replaced by a shorter one: no stale frame_0004.png.
        const QString seq = tmp.path() + "/seq";
        for (int round : {5, 3}) {
            // A new folder is named with a trailing '/'; an existing folder needs none.
            AnimationWriter writer((round == 5 ? seq + "/" : seq).toStdString(), 32, 24, 10);
            for (int k = 0; k < round; ++k) writer.addFrame(discFrame(k, round, 32, 24));
            if (round == 3) QCOMPARE(dirEntries(seq).size(), 5);  // still the old sequence
            writer.finish();
            QCOMPARE(dirEntries(seq).size(), round);
        }
        writeText(seq + "/notes.txt", "mine");
        expectError([&] { AnimationWriter writer(seq.toStdString(), 32, 24, 10); }, {"notes.txt"});
        QCOMPARE(dirEntries(seq).size(), 4);
        QCOMPARE(dirEntries(tmp.path()), (QStringList{"movie.mp4", "seq"}));
    }
    // (Encode throughput lives in bench/: transportlab-encodebench.)
};

QTEST_GUILESS_MAIN(TestAnimationWriter)
#include "tst_animation_writer.moc"
