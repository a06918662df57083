// `transportlab-cli measure` with an image as a density: a PNG read through Qt's image readers
// (registered by the CLI) is sampled where it is bright (or dark with invert=1); bad images fail cleanly.
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "measure/csv.h"

class TestCliMeasure : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    struct Run {
        int code;
        QByteArray out, err;
    };
    static Run cli(const QStringList& args) {
        QProcess p;
        p.start(TL_CLI_PATH, args);
        p.waitForFinished(60000);
        return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        // 40 x 20 pixels: left half white, right half black.
        QImage img(40, 20, QImage::Format_Grayscale8);
        for (int y = 0; y < 20; ++y)
            for (int x = 0; x < 40; ++x) img.setPixel(x, y, x < 20 ? qRgb(255, 255, 255) : qRgb(0, 0, 0));
        QVERIFY(img.save(dir_.filePath("half.png")));
        QFile bad(dir_.filePath("bad.png"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("\x89PNG\r\n\x1a\n this is not a png");
    }

    void pngDensity_data() {
        QTest::addColumn<int>("invert");
        QTest::newRow("bright is dense") << 0;
        QTest::newRow("invert: dark is dense") << 1;
    }
    void pngDensity() {
        QFETCH(int, invert);
        const QString out = dir_.filePath(QString("img%1.csv").arg(invert));
        const Run r = cli({"measure", "--spec", QString("image:path=%1,n=3000,seed=4,width=4,invert=%2").arg(dir_.filePath("half.png")).arg(invert),
                           "--out", out});
        QVERIFY2(r.code == 0, r.err.constData());
        const tl::PointCloud pc = tl::readCsv(out.toStdString());
        QCOMPARE(pc.size(), std::size_t(3000));
        QCOMPARE(pc.dim, 2);
        // The image spans x in [-2, 2] and y in [-1, 1]: every sample lies in the dense half.
        for (std::size_t i = 0; i < pc.size(); ++i) {
            const double x = pc.point(i)[0], y = pc.point(i)[1];
            QVERIFY2(invert ? (x >= 0 && x <= 2) : (x >= -2 && x <= 0), qPrintable(QString("x = %1").arg(x)));
            QVERIFY(y >= -1 && y <= 1);
        }
        // Uniform within the half: mean x at the half's centre (sd of the mean ~ 0.58/sqrt(3000) = 0.01).
        QVERIFY(std::abs(pc.mean()[0] - (invert ? 1.0 : -1.0)) < 0.05);
    }

    void badImages_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("word");
        QTest::newRow("corrupt png") << "image:path=" + dir_.filePath("bad.png") << "bad.png";
        QTest::newRow("missing file") << "image:path=" + dir_.filePath("none.png") << "none.png";
        QTest::newRow("unsupported extension") << "image:path=" + dir_.filePath("x.tiffy") << "unsupported";
        QTest::newRow("no path") << "image:n=10" << "path";
    }
    void badImages() {
        QFETCH(QString, spec);
        QFETCH(QString, word);
        const QString out = dir_.filePath("never.csv");
        const Run r = cli({"measure", "--spec", spec, "--out", out});
        QVERIFY(r.code != 0);
        QVERIFY(r.out.isEmpty());
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.contains(word.toUtf8()), r.err.constData());
        QVERIFY(!QFile::exists(out));
    }
};

QTEST_GUILESS_MAIN(TestCliMeasure)
#include "tst_cli_measure.moc"
