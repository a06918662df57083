// Tests frame data on disk (core/engine/frame_io.h): frameCsv round-trips through the project's CSV
// reader bit for bit; frameVtp is well-formed VTK XML PolyData whose points, vertex cells and point
// arrays (weight, velocity, speed) match the frame; pvdIndex lists every file with its timestep;
// exportFrameData writes panel<k>/frame_<ffff>.{csv,vtp}, panel<k>.pvd, metrics.csv and scenario.json,
// refuses a non-empty or parentless folder, and leaves nothing (no folder, no temporary) when cancelled.
#include "engine/frame_io.h"
#include "engine/kde.h"
#include "engine/scenario.h"
#include "measure/csv.h"
#include "util/error.h"
#include "util/files.h"
#include "util/rng.h"

#include <QtTest>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QXmlStreamReader>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

// A frame of n particles in dimension dim with random positions, non-uniform weights and (optionally)
// velocities; seeded.
std::shared_ptr<tl::Frame> makeFrame(int n, int dim, bool velocities, double t, std::uint64_t seed) {
    tl::Rng rng(seed);
    auto f = std::make_shared<tl::Frame>();
    f->t = t;
    f->dim = dim;
    double total = 0;
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < dim; ++k) f->positions.push_back(rng.normal() * 3.0);
        f->weights.push_back(0.5 + rng.uniform());
        total += f->weights.back();
        if (velocities)
            for (int k = 0; k < dim; ++k) f->velocities.push_back(rng.normal());
    }
    for (double& w : f->weights) w /= total;
    f->setMetric("mean_x", rng.normal());
    f->setMetric("kinetic_energy", t * 2);
    return f;
}

// One parsed <DataArray>: attributes and its whitespace-separated values.
struct XmlArray {
    QString parent;  // enclosing element (PointData, Points, Verts, FieldData)
    QMap<QString, QString> attrs;
    std::vector<double> values;
};

struct VtpDoc {
    QString error;
    QMap<QString, QString> file, piece;
    std::vector<XmlArray> arrays;
    const XmlArray* find(const QString& parent, const QString& name) const {
        for (const auto& a : arrays)
            if (a.parent == parent && a.attrs.value("Name") == name) return &a;
        return nullptr;
    }
};

QMap<QString, QString> attrsOf(const QXmlStreamReader& r) {
    QMap<QString, QString> m;
    for (const auto& a : r.attributes()) m[a.name().toString()] = a.value().toString();
    return m;
}

VtpDoc parseVtp(const std::string& text) {
    VtpDoc doc;
    QXmlStreamReader r(QByteArray::fromStdString(text));
    QStringList stack;
    while (!r.atEnd()) {
        r.readNext();
        if (r.isStartElement()) {
            const QString name = r.name().toString();
            if (name == "VTKFile") doc.file = attrsOf(r);
            if (name == "Piece") doc.piece = attrsOf(r);
            if (name == "DataArray") {
                XmlArray a;
                a.parent = stack.value(stack.size() - 1);
                a.attrs = attrsOf(r);
                const QString body = r.readElementText();
                for (const QString& tok : body.split(QRegularExpression("\\s+"), Qt::SkipEmptyParts)) {
                    bool ok = false;
                    a.values.push_back(tok.toDouble(&ok));
                    if (!ok) doc.error = "not a number: " + tok;
                }
                doc.arrays.push_back(a);
                continue;  // readElementText consumed the end element
            }
            stack.push_back(name);
        } else if (r.isEndElement()) {
            stack.pop_back();
        }
    }
    if (r.hasError()) doc.error = r.errorString() + " at line " + QString::number(r.lineNumber());
    return doc;
}

QStringList listing(const QString& dir) {
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
}

tl::Scenario makeScenario(int panels) {
    tl::Scenario s;
    s.name = "frame io test";
    s.source = "gaussian:n=7,seed=1";
    s.target = "moons:n=7,seed=2";
    s.frames = 4;
    const char* names[2] = {"ot-displacement", "flow-matching"};
    for (int k = 0; k < panels; ++k) s.panels.push_back(tl::PanelSpec{names[k % 2], "", {}});
    return s;
}

// panels x frames frames of n particles, times k / (frames - 1).
std::vector<std::vector<tl::FramePtr>> makeRun(int panels, int frames, int n) {
    std::vector<std::vector<tl::FramePtr>> run(panels);
    for (int k = 0; k < panels; ++k)
        for (int f = 0; f < frames; ++f) run[k].push_back(makeFrame(n, 2, k == 1, f / double(frames - 1), 100 + 10 * k + f));
    return run;
}

}  // namespace

class TestFrameIo : public QObject {
    Q_OBJECT

private slots:
    // The density layer's KDE (core/engine/kde.h): mass 1, the peak at the mean with the closed-form
    // height 1 / (2 pi (s^2 + h^2)) of a Gaussian's Gaussian-kernel KDE, tails, degenerate input.
    void kdeOfAGaussianIntegratesToOneAndPeaksAtTheMean() {
        // 4000 samples of N((0.5, -0.3), 0.7^2 I).
        const double mx = 0.5, my = -0.3, sigma = 0.7;
        const int n = 4000;
        tl::Frame f;
        f.dim = 2;
        tl::Rng rng(7);
        for (int i = 0; i < n; ++i) {
            f.positions.push_back(mx + sigma * rng.normal());
            f.positions.push_back(my + sigma * rng.normal());
            f.weights.push_back(1.0 / n);
        }
        const double x0 = mx - 6 * sigma, x1 = mx + 6 * sigma, y0 = my - 6 * sigma, y1 = my + 6 * sigma;
        const int nx = 120, ny = 100;
        const double hx = (x1 - x0) / nx, hy = (y1 - y0) / ny;
        for (double bw : {0.0, 0.3}) {
            const std::vector<float> g = tl::kdeGrid(f, x0, x1, y0, y1, nx, ny, bw);
            QCOMPARE(g.size(), std::size_t(nx) * ny);
            double mass = 0;
            std::size_t best = 0;
            for (std::size_t k = 0; k < g.size(); ++k) {
                QVERIFY(g[k] >= 0);
                mass += g[k] * hx * hy;
                if (g[k] > g[best]) best = k;
            }
            QVERIFY2(std::abs(mass - 1) < 0.02, qPrintable(QString("bandwidth %1: mass %2").arg(bw).arg(mass)));
            const double px = x0 + (best % nx + 0.5) * hx, py = y0 + (best / nx + 0.5) * hy;
            QVERIFY2(std::hypot(px - mx, py - my) < 0.25 * sigma, qPrintable(QString("peak at (%1, %2)").arg(px).arg(py)));
            // The KDE of N(m, s^2 I) with a Gaussian kernel of width h peaks at 1 / (2 pi (s^2 + h^2)).
            const double h = bw > 0 ? bw : sigma * std::pow(double(n), -1.0 / 6.0);
            const double expected = 1.0 / (2 * M_PI * (sigma * sigma + h * h));
            QVERIFY2(std::abs(g[best] / expected - 1) < 0.12, qPrintable(QString("bandwidth %1: peak %2, expected %3").arg(bw).arg(g[best]).arg(expected)));
            // Three sigma out, the density is e^-4.5 of the peak or so.
            const int cx = static_cast<int>((mx + 3 * sigma - x0) / hx), cy = static_cast<int>((my - y0) / hy);
            QVERIFY(g[std::size_t(cy) * nx + cx] < 0.05 * g[best]);
        }
        // Degenerate input: zeros, not NaN.
        tl::Frame empty;
        const auto z = tl::kdeGrid(empty, 0, 1, 0, 1, 8, 8);
        QCOMPARE(z.size(), std::size_t(64));
        QVERIFY(std::all_of(z.begin(), z.end(), [](float v) { return v == 0.0f; }));
    }

    // frameCsv -> parseCsv gives back exactly the frame's positions (shortest round-trip doubles), in
    // order, for d = 1, 2, 3; the header names the coordinates.
    void csvRoundTrip_data() {
        QTest::addColumn<int>("dim");
        QTest::newRow("1-D") << 1;
        QTest::newRow("2-D") << 2;
        QTest::newRow("3-D") << 3;
    }
    void csvRoundTrip() {
        QFETCH(int, dim);
        const auto f = makeFrame(257, dim, false, 0.25, 7 + dim);
        f->positions[3] = 1e-300;  // extremes survive too
        f->positions[4 % f->positions.size()] = -123456789.123456789;
        const std::string csv = tl::frameCsv(*f);
        const char* headers[3] = {"x\n", "x,y\n", "x,y,z\n"};
        QVERIFY(csv.rfind(headers[dim - 1], 0) == 0);
        const tl::PointCloud c = tl::parseCsv(csv, "frame.csv");
        QCOMPARE(c.dim, dim);
        QCOMPARE(c.size(), f->rows());
        QVERIFY(c.points == f->positions);
    }

    // The VTP is well-formed XML with the PolyData structure; points are the positions padded with
    // zeros (z = 0 in 2-D), one vertex cell per point, weight/velocity/speed match the frame.
    void vtpStructure_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<bool>("velocities");
        QTest::newRow("2-D with velocities") << 2 << true;
        QTest::newRow("2-D without velocities") << 2 << false;
        QTest::newRow("3-D with velocities") << 3 << true;
        QTest::newRow("1-D") << 1 << false;
    }
    void vtpStructure() {
        QFETCH(int, dim);
        QFETCH(bool, velocities);
        const int n = 101;
        const auto f = makeFrame(n, dim, velocities, 0.375, 42 + dim);
        const VtpDoc doc = parseVtp(tl::frameVtp(*f));
        QVERIFY2(doc.error.isEmpty(), qPrintable(doc.error));
        QCOMPARE(doc.file.value("type"), QString("PolyData"));
        QCOMPARE(doc.piece.value("NumberOfPoints").toInt(), n);
        QCOMPARE(doc.piece.value("NumberOfVerts").toInt(), n);
        QCOMPARE(doc.piece.value("NumberOfPolys").toInt(), 0);

        const XmlArray* pts = doc.find("Points", "Points");
        QVERIFY(pts);
        QCOMPARE(pts->attrs.value("NumberOfComponents"), QString("3"));
        QCOMPARE(pts->values.size(), std::size_t(3 * n));
        for (int i = 0; i < n; ++i)
            for (int k = 0; k < 3; ++k) QCOMPARE(pts->values[3 * i + k], k < dim ? f->positions[i * dim + k] : 0.0);

        const XmlArray* conn = doc.find("Verts", "connectivity");
        const XmlArray* offs = doc.find("Verts", "offsets");
        QVERIFY(conn && offs);
        QCOMPARE(conn->values.size(), std::size_t(n));
        QCOMPARE(offs->values.size(), std::size_t(n));
        for (int i = 0; i < n; ++i) {
            QCOMPARE(conn->values[i], double(i));
            QCOMPARE(offs->values[i], double(i + 1));
        }

        const XmlArray* w = doc.find("PointData", "weight");
        QVERIFY(w);
        QVERIFY(w->values == f->weights);

        const XmlArray* v = doc.find("PointData", "velocity");
        const XmlArray* sp = doc.find("PointData", "speed");
        QCOMPARE(v != nullptr, velocities);
        QCOMPARE(sp != nullptr, velocities);
        if (velocities) {
            QCOMPARE(v->attrs.value("NumberOfComponents"), QString("3"));
            QCOMPARE(v->values.size(), std::size_t(3 * n));
            QCOMPARE(sp->values.size(), std::size_t(n));
            for (int i = 0; i < n; ++i) {
                double q = 0;
                for (int k = 0; k < 3; ++k) {
                    const double want = k < dim ? f->velocities[i * dim + k] : 0.0;
                    QCOMPARE(v->values[3 * i + k], want);
                    q += want * want;
                }
                QVERIFY(std::abs(sp->values[i] - std::sqrt(q)) <= 1e-15 * (1 + std::sqrt(q)));
            }
        }
        const XmlArray* tv = doc.find("FieldData", "TimeValue");
        QVERIFY(tv);
        QCOMPARE(tv->values, std::vector<double>{0.375});
    }

    // Inconsistent frames are refused with a message, not written.
    void vtpRejectsInconsistentFrames() {
        auto f = makeFrame(10, 2, true, 0, 1);
        f->positions.pop_back();
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::frameVtp(*f));
        f = makeFrame(10, 2, true, 0, 1);
        f->velocities.resize(7);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::frameVtp(*f));
    }

    // The .pvd lists every (time, file) in order, timestep = t exactly, file names XML-escaped.
    void pvdIndex() {
        std::vector<std::pair<double, std::string>> items;
        for (int k = 0; k < 5; ++k) items.emplace_back(k / 3.0, "panel0/frame_000" + std::to_string(k) + ".vtp");
        items.emplace_back(2.0, "odd & <name>.vtp");
        QXmlStreamReader r(QByteArray::fromStdString(tl::pvdIndex(items)));
        std::vector<std::pair<double, std::string>> seen;
        QString type;
        while (!r.atEnd()) {
            r.readNext();
            if (!r.isStartElement()) continue;
            if (r.name() == QLatin1String("VTKFile")) type = r.attributes().value("type").toString();
            if (r.name() == QLatin1String("DataSet"))
                seen.emplace_back(r.attributes().value("timestep").toDouble(), r.attributes().value("file").toString().toStdString());
        }
        QVERIFY2(!r.hasError(), qPrintable(r.errorString()));
        QCOMPARE(type, QString("Collection"));
        QCOMPARE(seen.size(), items.size());
        for (std::size_t k = 0; k < items.size(); ++k) {
            QCOMPARE(seen[k].first, items[k].first);
            QCOMPARE(seen[k].second, items[k].second);
        }
    }

    // A whole run: the files exist with the right content, the .pvd points at existing files with the
    // frames' times, metrics.csv has one row per panel and frame, scenario.json parses back; no
    // temporary is left beside the folder.
    void exportWritesEverything() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString out = tmp.path() + "/run";
        const auto scenario = makeScenario(2);
        const auto run = makeRun(2, 4, 9);
        std::vector<double> fractions;
        const bool done = tl::exportFrameData(out.toStdString(), scenario, run, true, true, [&](double p) {
            fractions.push_back(p);
            return true;
        });
        QVERIFY(done);
        QCOMPARE(listing(tmp.path()), QStringList{"run"});
        QCOMPARE(listing(out), (QStringList{"metrics.csv", "panel0", "panel0.pvd", "panel1", "panel1.pvd", "scenario.json"}));
        QCOMPARE(fractions.size(), std::size_t(8));
        QCOMPARE(fractions.back(), 1.0);
        for (std::size_t k = 1; k < fractions.size(); ++k) QVERIFY(fractions[k] > fractions[k - 1]);
        for (int k = 0; k < 2; ++k) {
            const QString panel = out + "/panel" + QString::number(k);
            QCOMPARE(listing(panel).size(), 8);
            for (int f = 0; f < 4; ++f) {
                const QString base = panel + QString("/frame_%1").arg(f, 4, 10, QChar('0'));
                QCOMPARE(tl::readFile((base + ".csv").toStdString()), tl::frameCsv(*run[k][f]));
                QCOMPARE(tl::readFile((base + ".vtp").toStdString()), tl::frameVtp(*run[k][f]));
            }
            // The index: relative paths that exist, timesteps = frame times.
            QXmlStreamReader r(QByteArray::fromStdString(tl::readFile((out + "/panel" + QString::number(k) + ".pvd").toStdString())));
            int seen = 0;
            while (!r.atEnd()) {
                r.readNext();
                if (!r.isStartElement() || r.name() != QLatin1String("DataSet")) continue;
                const QString file = r.attributes().value("file").toString();
                QVERIFY2(!QDir::isAbsolutePath(file), qPrintable(file));
                QVERIFY2(QFile::exists(out + "/" + file), qPrintable(file));
                QCOMPARE(file, QString("panel%1/frame_%2.vtp").arg(k).arg(seen, 4, 10, QChar('0')));
                QCOMPARE(r.attributes().value("timestep").toDouble(), run[k][seen]->t);
                ++seen;
            }
            QVERIFY(!r.hasError());
            QCOMPARE(seen, 4);
        }
        const std::string metrics = tl::readFile((out + "/metrics.csv").toStdString());
        QCOMPARE(metrics, tl::metricsCsv(scenario, run));
        QVERIFY(metrics.rfind("panel,dynamics,frame,t,mean_x,kinetic_energy,energy,entropy\n", 0) == 0);
        QCOMPARE(QByteArray::fromStdString(metrics).count('\n'), 1 + 8);
        QVERIFY(metrics.find("\n1,flow-matching,3,1,") != std::string::npos);
        const tl::Scenario back = tl::parseScenario(tl::readFile((out + "/scenario.json").toStdString()), tmp.path().toStdString(), "scenario.json");
        QCOMPARE(back.panels.size(), std::size_t(2));
        QCOMPARE(back.source, scenario.source);

        // CSV only: no .vtp, no .pvd; an existing empty folder is fine.
        const QString csvOnly = tmp.path() + "/csv";
        QVERIFY(QDir().mkpath(csvOnly));
        QVERIFY(tl::exportFrameData(csvOnly.toStdString() + "/", scenario, run, true, false));
        QCOMPARE(listing(csvOnly), (QStringList{"metrics.csv", "panel0", "panel1", "scenario.json"}));
        QCOMPARE(listing(csvOnly + "/panel0"), (QStringList{"frame_0000.csv", "frame_0001.csv", "frame_0002.csv", "frame_0003.csv"}));
        QCOMPARE(listing(tmp.path()), (QStringList{"csv", "run"}));
    }

    // Cancelling through progress (at the first, a middle and the last frame) leaves the parent folder
    // exactly as it was: no output folder, no temporary.
    void cancelLeavesNothing_data() {
        QTest::addColumn<int>("stopAt");
        QTest::newRow("first frame") << 1;
        QTest::newRow("middle") << 5;
        QTest::newRow("last frame") << 8;
    }
    void cancelLeavesNothing() {
        QFETCH(int, stopAt);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QVERIFY(QDir().mkpath(tmp.path() + "/other"));
        const QStringList before = listing(tmp.path());
        int calls = 0;
        const bool done = tl::exportFrameData((tmp.path() + "/run").toStdString(), makeScenario(2), makeRun(2, 4, 5), true, true,
                                              [&](double) { return ++calls < stopAt; });
        QVERIFY(!done);
        QCOMPARE(calls, stopAt);
        QCOMPARE(listing(tmp.path()), before);
    }

    // A non-empty folder is refused (its content untouched), so is a missing parent and a file in the
    // way; nothing to export is an error; mismatched panels are an error; nothing is left behind.
    void refusals() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString full = tmp.path() + "/full";
        QVERIFY(QDir().mkpath(full));
        QFile keep(full + "/keep.txt");
        QVERIFY(keep.open(QIODevice::WriteOnly));
        keep.write("precious\n");
        keep.close();
        QFile file(tmp.path() + "/afile");
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        const QStringList before = listing(tmp.path());
        const auto scenario = makeScenario(2);
        const auto run = makeRun(2, 3, 4);
        auto expectError = [&](const QString& out, const std::vector<std::vector<tl::FramePtr>>& panels, bool csv, bool vtp,
                               const QString& needle) {
            try {
                tl::exportFrameData(out.toStdString(), scenario, panels, csv, vtp);
                QFAIL(qPrintable("no error for " + out));
            } catch (const tl::Error& e) {
                const QString msg = QString::fromStdString(e.what());
                qInfo("%s", qPrintable(msg));
                QVERIFY2(msg.contains(needle), qPrintable(msg));
                QVERIFY(!msg.contains('\n'));
            }
        };
        expectError(full, run, true, true, "not empty");
        expectError(tmp.path() + "/missing/run", run, true, false, "does not exist");
        expectError(tmp.path() + "/afile", run, false, true, "not a folder");
        expectError(tmp.path() + "/run", run, false, false, "nothing to export");
        expectError(tmp.path() + "/run", makeRun(3, 2, 4), true, false, "3 panels");
        QCOMPARE(listing(tmp.path()), before);
        QCOMPARE(listing(full), QStringList{"keep.txt"});
    }
};

QTEST_GUILESS_MAIN(TestFrameIo)
#include "tst_frame_io.moc"
