// Tests `transportlab-cli simulate ... --format csv|vtp|both`: the ParaView series (DIR/panel<k>.pvd
// indexing panel<k>/frame_<ffff>.vtp for particles, panel<k>/density_<ffff>.vti for grids) read back by
// a real client in a separate process: tests/cli/read_pvd.py with Debian's python3-vtk9 (VTK's own XML
// readers; the .pvd index parsed as XML, since plain VTK has no reader for ParaView's collection). The
// series must hold every scenario time, and each file the same points (count, coordinates to 1e-12
// relative, z = 0) or the same grid (dimensions, spacing, origin, density values) as the CSV frames
// written beside it, with field data TimeValue = the time step. If the `vtk` module cannot be imported
// the reading cases skip with the reason. `--format vtp` writes no CSV frames (metrics.csv and
// scenario.json still); `--format csv` (the default) no .vtp/.vti/.pvd; an unknown value is one line on
// stderr naming --format, and nothing is written.
#include "engine/scenario.h"

#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace {

using namespace tltest;  // the helpers of tests/common

constexpr int kSkipCode = 77;  // read_pvd.py: the vtk module cannot be imported

const QString kPython = QStringLiteral("/usr/bin/python3");
const QString kReader = QStringLiteral(TL_SOURCE_DIR "/tests/cli/read_pvd.py");

double num(const QByteArray& s) {
    const std::string t = s.trimmed().toStdString();
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    return end && *end == '\0' && !t.empty() ? v : std::nan("");
}

// Rows of a CSV file as numbers (header separately).
std::vector<std::vector<double>> csvNumbers(const QString& path, QByteArray* header) {
    std::vector<std::vector<double>> rows;
    const QList<QByteArray> lines = readAll(path).split('\n');
    *header = lines.value(0);
    for (int k = 1; k < lines.size(); ++k) {
        if (lines[k].isEmpty()) continue;
        std::vector<double> row;
        for (const QByteArray& cell : lines[k].split(',')) row.push_back(num(cell));
        rows.push_back(row);
    }
    return rows;
}

// Element i of a row, NaN when the row is shorter.
double at(const std::vector<double>& row, std::size_t i) { return i < row.size() ? row[i] : std::nan(""); }

// |a - b| within `rel` of the larger magnitude (equal zeros pass).
bool close(double a, double b, double rel = 1e-12) {
    return std::isfinite(a) && std::isfinite(b) && std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b));
}

QString frameFile(const QString& out, int panel, const char* stem, int f, const char* ext) {
    return QString("%1/panel%2/%3_%4.%5").arg(out).arg(panel).arg(stem).arg(f, 4, 10, QChar('0')).arg(ext);
}

// Every file under `dir` (relative paths), hidden included, sorted.
QStringList filesUnder(const QString& dir) {
    QStringList files;
    QDirIterator it(dir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) files << QDir(dir).relativeFilePath(it.next());
    files.sort();
    return files;
}

// A particle scenario (two panels: exact OT and the Gaussian closed form) and a grid scenario (heat
// flow on a 16 x 16 grid to t = 0.05).
const QByteArray kParticles = R"({"source": "gaussian:n=200,seed=1", "target": "moons:n=200,seed=2", "frames": 5,
    "panels": [{"dynamics": "ot-displacement"}, {"dynamics": "ot-displacement", "method": "gaussian"}]})";
const QByteArray kGrid = R"({"source": "gaussian:n=200,seed=1", "frames": 5, "duration": 0.05,
    "panels": [{"dynamics": "gradient-flow", "grid": 16}]})";

}  // namespace

class TestCliSimulateVtk : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    int case_ = 0;

    QString freshDir() {
        const QString d = tmp_.filePath(QString("case%1").arg(case_++));
        QDir().mkpath(d);
        return d;
    }

    QString writeScenario(const QString& dir, const QByteArray& json) {
        const QString path = dir + "/scenario.json";
        writeText(path, json);
        return path;
    }

    // Runs simulate with `format` into dir/out; checks exit 0 and a one-line summary naming the format.
    void simulate(const QString& scenarioPath, const QString& out, const QString& format) {
        const Run r = runCli({"simulate", scenarioPath, "--out", out, "--threads", "2", "--format", format});
        QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
        const QByteArray line = r.out.trimmed();
        QVERIFY2(!line.isEmpty() && !line.contains('\n'), r.out.constData());
        QCOMPARE(QJsonDocument::fromJson(line).object().value("format").toString(), format);
    }

    // Runs read_pvd.py on `out`; *skip gets the reason when the vtk module (or python3) is missing.
    void readPvd(const QString& out, QJsonObject* doc, QString* skip) {
        if (!QFileInfo(kPython).isExecutable()) {
            *skip = kPython + " is missing: install python3 and python3-vtk9 (scripts/install-deps.sh)";
            return;
        }
        const Run r = runProgram(kPython, {kReader, out});
        if (r.exitCode == kSkipCode) {
            *skip = QString::fromUtf8(r.err).trimmed();
            return;
        }
        QVERIFY2(r.exitCode == 0, qPrintable(QString("read_pvd.py: exit %1, stderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
        QJsonParseError pe;
        *doc = QJsonDocument::fromJson(r.out, &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable("read_pvd.py printed no JSON: " + pe.errorString()));
        qInfo("read back with VTK %s", qPrintable(doc->value("vtk_version").toString()));
    }

    // One panel of read_pvd.py's output: the series holds exactly the scenario's times, one file per
    // time named panel<k>/<stem>_<ffff>.<ext>, each of VTK type `type` with TimeValue = its time step.
    void checkSeries(const QJsonObject& panel, int k, const std::vector<double>& times, const char* stem, const char* ext,
                     const QString& type) {
        QCOMPARE(panel.value("panel").toInt(), k);
        const QJsonArray steps = panel.value("timesteps").toArray();
        const QJsonArray frames = panel.value("frames").toArray();
        QCOMPARE(steps.size(), static_cast<qsizetype>(times.size()));
        QCOMPARE(frames.size(), static_cast<qsizetype>(times.size()));
        for (int f = 0; f < static_cast<int>(times.size()); ++f) {
            const QJsonObject fr = frames[f].toObject();
            QVERIFY2(std::abs(steps[f].toDouble() - times[f]) <= 1e-15 * std::max(1.0, std::abs(times[f])),
                     qPrintable(QString("panel %1 step %2: t = %3, scenario %4").arg(k).arg(f).arg(steps[f].toDouble(), 0, 'g', 17).arg(times[f], 0, 'g', 17)));
            QCOMPARE(fr.value("timestep").toDouble(), steps[f].toDouble());
            QCOMPARE(fr.value("time_value").toDouble(), steps[f].toDouble());
            QCOMPARE(fr.value("file").toString(), QString("panel%1/%2_%3.%4").arg(k).arg(stem).arg(f, 4, 10, QChar('0')).arg(ext));
            QCOMPARE(fr.value("type").toString(), type);
        }
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QVERIFY2(QFile::exists(QStringLiteral(TL_CLI_PATH)), TL_CLI_PATH);
        QVERIFY2(QFile::exists(kReader), qPrintable(kReader));
    }

    // Particles: `--format both` writes CSV and VTP frames of the same run; VTK reads the .pvd's every
    // file with the scenario's times, and the same point count and coordinates as the CSV frame.
    void particlesSeries() {
        const QString dir = freshDir();
        const QString scenarioPath = writeScenario(dir, kParticles);
        const QString out = dir + "/out";
        simulate(scenarioPath, out, "both");
        if (QTest::currentTestFailed()) return;
        const tl::Scenario s = tl::loadScenario(scenarioPath.toStdString());
        const std::vector<double> times = s.times();
        QJsonObject doc;
        QString skip;
        readPvd(out, &doc, &skip);
        if (QTest::currentTestFailed()) return;
        if (!skip.isEmpty()) TL_REQUIRE_OR_SKIP(skip);
        const QJsonArray panels = doc.value("panels").toArray();
        QCOMPARE(panels.size(), static_cast<qsizetype>(s.panels.size()));
        for (int k = 0; k < panels.size(); ++k) {
            const QJsonObject panel = panels[k].toObject();
            checkSeries(panel, k, times, "frame", "vtp", "vtkPolyData");
            if (QTest::currentTestFailed()) return;
            const QJsonArray frames = panel.value("frames").toArray();
            for (int f = 0; f < frames.size(); ++f) {
                const QJsonObject fr = frames[f].toObject();
                QByteArray header;
                const auto csv = csvNumbers(frameFile(out, k, "frame", f, "csv"), &header);
                QCOMPARE(header, QByteArray("x,y"));
                QCOMPARE(fr.value("points").toInt(), static_cast<int>(csv.size()));
                QCOMPARE(fr.value("verts").toInt(), static_cast<int>(csv.size()));
                QVERIFY(fr.value("point_arrays").toArray().contains("weight"));
                QVERIFY(fr.value("field_arrays").toArray().contains("TimeValue"));
                const QJsonArray xyz = fr.value("coordinates").toArray();
                QCOMPARE(xyz.size(), static_cast<qsizetype>(csv.size()));
                for (int i = 0; i < xyz.size(); ++i) {
                    const QJsonArray p = xyz[i].toArray();
                    QVERIFY2(p.size() == 3 && csv[i].size() == 2 && close(p[0].toDouble(), csv[i][0]) && close(p[1].toDouble(), csv[i][1]) &&
                                 p[2].toDouble() == 0.0,
                             qPrintable(QString("panel %1 frame %2 point %3: VTK (%4, %5, %6), CSV (%7, %8)")
                                            .arg(k).arg(f).arg(i)
                                            .arg(p[0].toDouble(), 0, 'g', 17).arg(p[1].toDouble(), 0, 'g', 17).arg(p[2].toDouble(), 0, 'g', 17)
                                            .arg(at(csv[i], 0), 0, 'g', 17).arg(at(csv[i], 1), 0, 'g', 17)));
                }
            }
            qInfo("panel %d: %d time steps, %d points each, coordinates equal to the CSV frames", k, static_cast<int>(frames.size()),
                  frames.first().toObject().value("points").toInt());
        }
        QVERIFY(!QFile::exists(out + "/panel" + QString::number(panels.size()) + ".pvd"));
    }

    // A grid panel: the series indexes density_<ffff>.vti; VTK reads a 16 x 16 x 1 image whose spacing
    // and origin place its points on the CSV's cell centres, with the CSV's density values.
    void gridSeries() {
        const QString dir = freshDir();
        const QString scenarioPath = writeScenario(dir, kGrid);
        const QString out = dir + "/out";
        simulate(scenarioPath, out, "both");
        if (QTest::currentTestFailed()) return;
        const tl::Scenario s = tl::loadScenario(scenarioPath.toStdString());
        const std::vector<double> times = s.times();
        QCOMPARE(times.back(), 0.05);
        QJsonObject doc;
        QString skip;
        readPvd(out, &doc, &skip);
        if (QTest::currentTestFailed()) return;
        if (!skip.isEmpty()) TL_REQUIRE_OR_SKIP(skip);
        const QJsonArray panels = doc.value("panels").toArray();
        QCOMPARE(panels.size(), qsizetype(1));
        const QJsonObject panel = panels[0].toObject();
        checkSeries(panel, 0, times, "density", "vti", "vtkImageData");
        if (QTest::currentTestFailed()) return;
        QVERIFY2(!QFile::exists(frameFile(out, 0, "frame", 0, "vtp")), "a grid panel wrote particle frames");
        const int cells = 16;
        const double extent = s.panels[0].params.real("extent"), h = 2 * extent / cells;
        const QJsonArray frames = panel.value("frames").toArray();
        for (int f = 0; f < frames.size(); ++f) {
            const QJsonObject fr = frames[f].toObject();
            QByteArray header;
            const auto csv = csvNumbers(frameFile(out, 0, "density", f, "csv"), &header);
            QCOMPARE(header, QByteArray("x,y,density"));
            QCOMPARE(static_cast<int>(csv.size()), cells * cells);
            QCOMPARE(fr.value("points").toInt(), cells * cells);
            QCOMPARE(fr.value("dimensions").toArray(), (QJsonArray{cells, cells, 1}));
            const QJsonArray spacing = fr.value("spacing").toArray(), origin = fr.value("origin").toArray();
            QVERIFY2(close(spacing[0].toDouble(), h) && close(spacing[1].toDouble(), h), qPrintable(QJsonDocument(spacing).toJson()));
            QVERIFY2(close(origin[0].toDouble(), at(csv[0], 0)) && close(origin[1].toDouble(), at(csv[0], 1)) && origin[2].toDouble() == 0.0,
                     qPrintable(QJsonDocument(origin).toJson()));
            QVERIFY(close(origin[0].toDouble(), -extent + h / 2));
            QVERIFY(fr.value("point_arrays").toArray().contains("density"));
            const QJsonArray density = fr.value("density").toArray();
            QCOMPARE(density.size(), qsizetype(cells * cells));
            double mass = 0;
            for (int i = 0; i < cells * cells; ++i) {
                const int ix = i % cells, iy = i / cells;  // VTK point order: x fastest, as the CSV rows
                const double x = origin[0].toDouble() + ix * spacing[0].toDouble(), y = origin[1].toDouble() + iy * spacing[1].toDouble();
                QVERIFY2(close(x, at(csv[i], 0)) && close(y, at(csv[i], 1)),
                         qPrintable(QString("frame %1 point %2: VTK (%3, %4), CSV (%5, %6)").arg(f).arg(i).arg(x).arg(y).arg(at(csv[i], 0)).arg(at(csv[i], 1))));
                const double v = density[i].toDouble();
                QVERIFY2(close(v, at(csv[i], 2)),
                         qPrintable(QString("frame %1 cell %2: VTK %3, CSV %4").arg(f).arg(i).arg(v, 0, 'g', 17).arg(at(csv[i], 2), 0, 'g', 17)));
                mass += v * h * h;
            }
            QVERIFY2(std::abs(mass - 1) < 1e-6, qPrintable(QString("frame %1: mass %2").arg(f).arg(mass)));
        }
        qInfo("grid: %d time steps to t = %g, 16 x 16 densities equal to the CSV", static_cast<int>(frames.size()), times.back());
    }

    // `--format vtp` writes the series only (no CSV frames), plus metrics.csv and scenario.json;
    // `--format csv`, like no --format, writes no .vtp/.vti/.pvd.
    void formatSelectsFiles_data() {
        QTest::addColumn<QByteArray>("scenario");
        QTest::addColumn<QString>("format");  // "" = option not given
        QTest::newRow("particles vtp") << kParticles << "vtp";
        QTest::newRow("grid vtp") << kGrid << "vtp";
        QTest::newRow("particles csv") << kParticles << "csv";
        QTest::newRow("particles default") << kParticles << "";
        QTest::newRow("grid default") << kGrid << "";
    }
    void formatSelectsFiles() {
        QFETCH(QByteArray, scenario);
        QFETCH(QString, format);
        const QString dir = freshDir();
        const QString scenarioPath = writeScenario(dir, scenario);
        const QString out = dir + "/out";
        QStringList args{"simulate", scenarioPath, "--out", out, "--threads", "2"};
        if (!format.isEmpty()) args << "--format" << format;
        const Run r = runCli(args);
        QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
        QCOMPARE(QJsonDocument::fromJson(r.out.trimmed()).object().value("format").toString(), format.isEmpty() ? QString("csv") : format);
        const tl::Scenario s = tl::loadScenario(scenarioPath.toStdString());
        const bool vtp = format == "vtp";
        QStringList expected{"metrics.csv", "scenario.json", "summary.json"};
        for (int k = 0; k < static_cast<int>(s.panels.size()); ++k) {
            const bool grid = s.panels[k].dynamics == "gradient-flow";
            if (vtp) expected << QString("panel%1.pvd").arg(k);
            for (int f = 0; f < s.frames; ++f)
                expected << QDir(out).relativeFilePath(frameFile(out, k, grid ? "density" : "frame", f, vtp ? (grid ? "vti" : "vtp") : "csv"));
        }
        expected.sort();
        QCOMPARE(filesUnder(out), expected);
    }

    // An unknown --format: one line on stderr naming --format, nothing on stdout, exit != 0, and
    // neither the output folder nor a temporary folder beside it.
    void badFormat_data() {
        QTest::addColumn<QStringList>("formatArgs");
        QTest::addColumn<QStringList>("expect");
        QTest::newRow("bogus") << QStringList{"--format", "bogus"} << QStringList{"--format", "bogus"};
        QTest::newRow("upper case") << QStringList{"--format", "VTP"} << QStringList{"--format", "VTP"};
        QTest::newRow("empty") << QStringList{"--format="} << QStringList{"--format"};
        QTest::newRow("missing value") << QStringList{"--format"} << QStringList{"--format"};
    }
    void badFormat() {
        QFETCH(QStringList, formatArgs);
        QFETCH(QStringList, expect);
        const QString dir = freshDir();
        const QString scenarioPath = writeScenario(dir, kParticles);
        const QString out = dir + "/out";
        const Run r = runCli(QStringList{"simulate", scenarioPath, "--out", out} + formatArgs);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(r.exitCode != 0 && r.exitCode != -2, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(err)));
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        QVERIFY2(!err.isEmpty() && !err.contains('\n'), qPrintable("stderr: " + err));
        for (const QString& e : expect) QVERIFY2(err.contains(e), qPrintable(QString("'%1' not in: %2").arg(e, err)));
        QCOMPARE(QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot), QStringList{"scenario.json"});
        qInfo("%s", qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestCliSimulateVtk)
#include "tst_cli_simulate_vtk.moc"
