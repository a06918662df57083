// Tests the `transportlab-cli sweep` contract through QProcess:
//   sweep SCENARIO.json --panel K --vary KEY=FROM:TO:COUNT --metric NAME --out FILE.csv [--png FILE] [--threads N] [--jobs J]
//   sweep ... --emit-jobs DIR;   sweep --merge OUT.csv PART.csv... [--png FILE]
// The CSV (header value,t,<metric>, one row per value and frame, values ascending and evenly spaced,
// frames in time order) holds the same numbers as `simulate`'s metrics.csv for one value (the same
// computation; bit-exact at equal thread counts); --png is a decodable 960 x 600 PNG; --emit-jobs writes
// job JSONs that `simulate` runs (relative CSV paths made absolute), a GNU parallel command list and a
// Slurm array script whose parts merge into exactly the one-shot sweep. Errors: exit 1, one line on
// stderr, nothing on stdout, nothing written (no temporary files either); Ctrl-C / SIGTERM likewise.
// Scenarios are tiny (16-cell grids, 50 particles, 60-point OT): the whole test takes a few seconds.
#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <csignal>
#include <cmath>
#include <cstdlib>
#include <sys/types.h>

namespace {

using namespace tltest;  // the helpers of tests/common

// Rows of a CSV file (header separately), each split on ','.
QList<QList<QByteArray>> csvRows(const QString& path, QByteArray* header) {
    QList<QList<QByteArray>> rows;
    const QList<QByteArray> lines = readAll(path).split('\n');
    *header = lines.value(0);
    for (int k = 1; k < lines.size(); ++k)
        if (!lines[k].isEmpty()) rows.push_back(lines[k].split(','));
    return rows;
}

double num(const QByteArray& s) {
    const std::string t = s.toStdString();
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    return end && *end == '\0' && !t.empty() ? v : std::nan("");
}

QJsonObject summaryOf(const Run& r) {
    const QByteArray line = r.out.trimmed();
    if (line.isEmpty() || line.contains('\n')) return {};
    return QJsonDocument::fromJson(line).object();
}

// metrics.csv of `simulate` for panel 0: the column `metric` by frame, as written.
QList<QByteArray> simulateColumn(const QString& metricsCsv, const QByteArray& metric, QList<QByteArray>* times) {
    QByteArray header;
    const auto rows = csvRows(metricsCsv, &header);
    const int col = static_cast<int>(header.split(',').indexOf(metric));
    QList<QByteArray> values;
    for (const auto& row : rows) {
        if (row.value(0) != "0") continue;
        values << (col < 0 ? QByteArray("<missing>") : row.value(col));
        if (times) *times << row.value(3);
    }
    return values;
}

const QByteArray kGradientFlow =
    R"({"source": "gaussian:n=500,seed=1", "frames": 11, "duration": 1,
        "panels": [{"dynamics": "gradient-flow", "grid": 16, "epsilon": 0.3, "tau": 0.1}]})";
const QByteArray kParticles =
    R"({"source": "gaussian:n=50,seed=1", "frames": 6, "duration": 0.5,
        "panels": [{"dynamics": "ot-displacement", "title": "unused"}, {"dynamics": "interacting-particles", "steps": 60}], "target": "moons:n=50,seed=2"})";
const QByteArray kOt =
    R"({"source": "gaussian:n=60,seed=1", "target": "moons:n=60,seed=2", "frames": 5,
        "panels": [{"dynamics": "ot-displacement", "method": "sinkhorn", "epsilon": 0.1}]})";

}  // namespace

class TestCliSweep : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    int case_ = 0;

    QString freshDir() {
        const QString d = tmp_.filePath(QString("case%1").arg(case_++));
        QDir().mkpath(d);
        return d;
    }
    QString writeScenario(const QString& dir, const QByteArray& json, const QString& name = "scenario.json") {
        const QString path = dir + "/" + name;
        writeText(path, json);
        return path;
    }
    void checkOk(const Run& r) {
        QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
        QVERIFY2(!summaryOf(r).isEmpty(), r.out.constData());
    }
    // The error contract: exit 1, nothing on stdout, one line "error: ..." containing every `expect`,
    // and `dir` holds exactly `before` (nothing written, no temporaries).
    void checkError(const Run& r, const QStringList& expect, const QString& dir, const QStringList& before, int exitCode = 1) {
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(r.exitCode == exitCode, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(err)));
        QVERIFY2(r.out.isEmpty(), qPrintable("stdout: " + QString::fromUtf8(r.out)));
        QVERIFY2(err.startsWith("error: ") && !err.contains('\n'), qPrintable("stderr: " + err));
        for (const QString& e : expect) QVERIFY2(err.contains(e), qPrintable(QString("'%1' not in: %2").arg(e, err)));
        QCOMPARE(dirEntries(dir), before);
    }

    // The engines' common start: a 60-particle scenario in dir, its sweep of b over 0.5..2 (count values)
    // emitted as jobs to dir/jobs, merging to dir/merged.csv. Returns {scenario, jobs folder}.
    std::pair<QString, QString> emitParticleSweep(const QString& dir, int count) {
        const QString scenario = writeScenario(dir, R"({"source": "gaussian:n=60,seed=5", "frames": 5, "duration": 0.5,
            "panels": [{"dynamics": "interacting-particles", "steps": 40}]})");
        const QString jobs = dir + "/jobs";
        checkOk(runCli({"sweep", scenario, "--panel", "0", "--vary", QString("b=0.5:2:%1").arg(count), "--metric", "mean_radius", "--emit-jobs", jobs,
                        "--out", dir + "/merged.csv"}));
        return {scenario, jobs};
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        QVERIFY2(QFile::exists(QStringLiteral(TL_CLI_PATH)), TL_CLI_PATH);
    }

    void help() {
        Run r = runCli({"sweep", "--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.err.isEmpty());
        for (const char* word : {"--vary", "KEY=FROM:TO:COUNT", "--metric", "--emit-jobs", "--merge", "--png", "--jobs"})
            QVERIFY2(r.out.contains(word), word);
        r = runCli({"--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("transportlab-cli sweep"));
    }

    // gradient-flow, 10 values of tau: header, 10 x 11 rows, values evenly spaced and ascending, t in
    // time order for each value, the JSON summary; and the numbers are simulate's for tau = 0.06.
    void gradientFlowMatchesSimulate() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kGradientFlow);
        const Run r = runCli({"sweep", scenario, "--vary", "tau=0.02:0.2:10", "--metric", "energy", "--out", dir + "/sweep.csv"});
        checkOk(r);
        const QJsonObject s = summaryOf(r);
        QCOMPARE(s.value("values").toInt(), 10);
        QCOMPARE(s.value("frames").toInt(), 11);
        QCOMPARE(s.value("metric").toString(), QString("energy"));
        QCOMPARE(s.value("out").toString(), dir + "/sweep.csv");
        QVERIFY(s.value("seconds").toDouble() >= 0);
        QByteArray header;
        const auto rows = csvRows(dir + "/sweep.csv", &header);
        QCOMPARE(header, QByteArray("value,t,energy"));
        QCOMPARE(static_cast<int>(rows.size()), 10 * 11);
        for (int i = 0; i < 10; ++i)
            for (int f = 0; f < 11; ++f) {
                const auto& row = rows[i * 11 + f];
                QCOMPARE(static_cast<int>(row.size()), 3);
                QVERIFY2(std::abs(num(row[0]) - (0.02 + 0.02 * i)) < 1e-12, row[0].constData());
                QVERIFY2(std::abs(num(row[1]) - f / 10.0) < 1e-12, row[1].constData());
                QVERIFY(std::isfinite(num(row[2])));
            }
        QCOMPARE(rows[2 * 11][0], QByteArray("0.06"));  // tidy values: no 0.060000000000000005
        // The heat flow's free energy decreases in t.
        QVERIFY(num(rows[10][2]) < num(rows[0][2]));

        // simulate at tau = 0.06: the same numbers (default threads on both sides: the grid flow is
        // deterministic), t as written by simulate.
        QByteArray one = kGradientFlow;
        one.replace("\"tau\": 0.1", "\"tau\": 0.06");
        const QString sim = dir + "/sim";
        const Run rs = runCli({"simulate", writeScenario(dir, one, "one.json"), "--out", sim});
        QVERIFY2(rs.exitCode == 0, rs.err.constData());
        QList<QByteArray> times;
        const QList<QByteArray> expected = simulateColumn(sim + "/metrics.csv", "energy", &times);
        QCOMPARE(expected.size(), 11);
        for (int f = 0; f < 11; ++f) {
            QCOMPARE(rows[2 * 11 + f][1], times[f]);
            const double a = num(rows[2 * 11 + f][2]), b = num(expected[f]);
            QVERIFY2(std::abs(a - b) <= 1e-12 * std::abs(b), qPrintable(QString("frame %1: sweep %2, simulate %3").arg(f).arg(a, 0, 'g', 17).arg(b, 0, 'g', 17)));
        }
    }

    // Panel 1 of a two-panel scenario (interacting particles, n = 50), vary b: mean_radius equals
    // simulate's bit for bit at one thread each; --threads/--jobs do not change the numbers.
    void particlesPanelMatchesSimulate() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kParticles);
        const Run r = runCli({"sweep", scenario, "--panel", "1", "--vary", "b=0.5:3:6", "--metric", "mean_radius", "--out", dir + "/a.csv", "--threads", "1"});
        checkOk(r);
        QCOMPARE(summaryOf(r).value("jobs").toInt(), 1);
        const Run r2 = runCli({"sweep", scenario, "--panel", "1", "--vary", "b=0.5:3:6", "--metric", "mean_radius", "--out", dir + "/b.csv", "--jobs", "3"});
        checkOk(r2);
        QCOMPARE(summaryOf(r2).value("jobs").toInt(), 3);
        QByteArray header;
        const auto rows = csvRows(dir + "/a.csv", &header);
        QCOMPARE(header, QByteArray("value,t,mean_radius"));
        QCOMPARE(static_cast<int>(rows.size()), 6 * 6);
        QCOMPARE(rows[0][0], QByteArray("0.5"));
        QCOMPARE(rows[35][0], QByteArray("3"));
        const auto rowsB = csvRows(dir + "/b.csv", &header);
        QCOMPARE(rowsB.size(), rows.size());
        for (int k = 0; k < rows.size(); ++k) {
            QCOMPARE(rowsB[k][0], rows[k][0]);
            QCOMPARE(rowsB[k][1], rows[k][1]);
            QVERIFY(std::abs(num(rowsB[k][2]) - num(rows[k][2])) <= 1e-12 * std::abs(num(rows[k][2])));
        }
        // simulate with b = 1.5 (value 2 of 0.5, 1, 1.5, ...), one thread: row for row the same text.
        QByteArray one = kParticles;
        one.replace("\"steps\": 60", "\"steps\": 60, \"b\": 1.5");
        const Run rs = runCli({"simulate", writeScenario(dir, one, "one.json"), "--out", dir + "/sim", "--threads", "1"});
        QVERIFY2(rs.exitCode == 0, rs.err.constData());
        QByteArray mh;
        QList<QByteArray> expected, times;
        const auto metrics = csvRows(dir + "/sim/metrics.csv", &mh);
        const int col = static_cast<int>(mh.split(',').indexOf("mean_radius"));
        QVERIFY(col > 0);
        for (const auto& row : metrics)
            if (row[0] == "1") expected << row[col], times << row[3];
        QCOMPARE(expected.size(), 6);
        for (int f = 0; f < 6; ++f) {
            QCOMPARE(rows[2 * 6 + f][0], QByteArray("1.5"));
            QCOMPARE(rows[2 * 6 + f][1], times[f]);
            QCOMPARE(rows[2 * 6 + f][2], expected[f]);
        }
    }

    // An integer key: values rounded and de-duplicated (10, 10.5, 11, ... 13 -> 10, 11, 12, 13), written as integers.
    void integerKeyRoundsAndDeduplicates() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kParticles);
        const Run r = runCli({"sweep", scenario, "--panel", "1", "--vary", "steps=10:13:7", "--metric", "mean_radius", "--out", dir + "/s.csv"});
        checkOk(r);
        QCOMPARE(summaryOf(r).value("values").toInt(), 4);
        QByteArray header;
        const auto rows = csvRows(dir + "/s.csv", &header);
        QCOMPARE(static_cast<int>(rows.size()), 4 * 6);
        for (int i = 0; i < 4; ++i) QCOMPARE(rows[i * 6][0], QByteArray::number(10 + i));
    }

    // ot-displacement with a target, vary epsilon, metric cov_xx: the same numbers as simulate at epsilon = 0.1;
    // FROM > TO still gives ascending values.
    void otMatchesSimulate() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kOt);
        const Run r = runCli({"sweep", scenario, "--vary", "epsilon=0.2:0.05:4", "--metric", "cov_xx", "--out", dir + "/ot.csv", "--threads", "1"});
        checkOk(r);
        QByteArray header;
        const auto rows = csvRows(dir + "/ot.csv", &header);
        QCOMPARE(header, QByteArray("value,t,cov_xx"));
        QCOMPARE(static_cast<int>(rows.size()), 4 * 5);
        const QList<QByteArray> values{"0.05", "0.1", "0.15", "0.2"};
        for (int i = 0; i < 4; ++i) QCOMPARE(rows[i * 5][0], values[i]);
        const Run rs = runCli({"simulate", scenario, "--out", dir + "/sim", "--threads", "1"});
        QVERIFY2(rs.exitCode == 0, rs.err.constData());
        QList<QByteArray> times;
        const QList<QByteArray> expected = simulateColumn(dir + "/sim/metrics.csv", "cov_xx", &times);
        QCOMPARE(expected.size(), 5);
        for (int f = 0; f < 5; ++f) {
            QCOMPARE(rows[5 + f][1], times[f]);
            QCOMPARE(rows[5 + f][2], expected[f]);
        }
    }

    // --png: a decodable 960 x 600 PNG beside the CSV (written together); the heat map is not flat.
    // QT_QPA_PLATFORM=xcb without a display must not matter (the CLI draws offscreen).
    void pngHeatMap() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kGradientFlow);
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "xcb");
        env.remove("DISPLAY");
        env.remove("WAYLAND_DISPLAY");
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(TL_CLI_PATH), {"sweep", scenario, "--vary", "tau=0.02:0.2:5", "--metric", "energy", "--out", dir + "/e.csv", "--png", dir + "/e.png"});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAllStandardError().constData());
        QVERIFY(QFile::exists(dir + "/e.csv"));
        QImage img;
        QVERIFY(img.load(dir + "/e.png", "PNG"));
        QCOMPARE(img.size(), QSize(960, 600));
        // Plot area: x 100 ... 789, y 50 ... 529; early and late frames differ in colour.
        QVERIFY(img.pixel(105, 300) != img.pixel(780, 300));
        QVERIFY(img.pixel(105, 300) != qRgb(255, 255, 255));
        QCOMPARE(dirEntries(dir), (QStringList{"e.csv", "e.png", "scenario.json"}));
    }

    // --emit-jobs: job_<iii>.json (one panel, the key set, relative CSV source made absolute: each runs via
    // simulate), commands.txt (one line per job), sweep.slurm (--array=0-(N-1)), HOW.txt (merge command).
    // Running the command lines in DIR and merging the parts gives exactly the one-shot sweep; the Slurm
    // script run as array task 1 writes the same part_001.csv.
    void emitJobsRunAndMerge() {
        const QString dir = freshDir();
        QDir().mkpath(dir + "/data");
        const Run rm = runCli({"measure", "--spec", "gaussian:n=40,seed=3", "--out", dir + "/data/src.csv"});
        QVERIFY2(rm.exitCode == 0, rm.err.constData());
        const QString scenario = writeScenario(dir, R"({"source": "data/src.csv", "frames": 5, "duration": 0.5,
            "panels": [{"dynamics": "gradient-flow", "grid": 16}, {"dynamics": "interacting-particles", "steps": 40}]})");
        const QString jobs = dir + "/jobs";
        const Run r = runCli({"sweep", scenario, "--panel", "1", "--vary", "b=0.5:2:4", "--metric", "mean_radius", "--emit-jobs", jobs, "--out", dir + "/merged.csv"});
        checkOk(r);
        QCOMPARE(dirEntries(jobs), (QStringList{"HOW.txt", "commands.txt", "job_000.json", "job_001.json", "job_002.json", "job_003.json", "sweep.slurm"}));
        const QByteArray slurm = readAll(jobs + "/sweep.slurm");
        QVERIFY2(slurm.contains("#SBATCH --array=0-3\n"), slurm.constData());
        QVERIFY(slurm.contains("SLURM_ARRAY_TASK_ID"));
        const QByteArray how = readAll(jobs + "/HOW.txt");
        QVERIFY2(how.contains("sweep --merge " + (dir + "/merged.csv").toUtf8() + " part_*.csv"), how.constData());
        const QList<QByteArray> commands = readAll(jobs + "/commands.txt").trimmed().split('\n');
        QCOMPARE(commands.size(), 4);
        const QList<QByteArray> values{"0.5", "1", "1.5", "2"};
        for (int i = 0; i < 4; ++i) {
            const QString job = QString("%1/job_%2.json").arg(jobs).arg(i, 3, 10, QChar('0'));
            const QJsonObject doc = QJsonDocument::fromJson(readAll(job)).object();
            QVERIFY2(!doc.isEmpty(), qPrintable(job));
            QCOMPARE(doc.value("panels").toArray().size(), 1);
            const QJsonObject panel = doc.value("panels").toArray()[0].toObject();
            QCOMPARE(panel.value("dynamics").toString(), QString("interacting-particles"));
            QCOMPARE(panel.value("b").toDouble(), num(values[i]));
            QCOMPARE(panel.value("steps").toInt(), 40);
            QVERIFY2(QFileInfo(doc.value("source").toString()).isAbsolute(), qPrintable(doc.value("source").toString()));
            const Run rs = runCli({"simulate", job, "--out", QString("%1/sim%2").arg(dir).arg(i)});
            QVERIFY2(rs.exitCode == 0, rs.err.constData());
            // the command line: transportlab-cli sweep job_<iii>.json --panel 0 --vary b=v:v:1 ... --out part_<iii>.csv
            QList<QByteArray> words = commands[i].split(' ');
            QCOMPARE(words.value(0), QByteArray("transportlab-cli"));
            QVERIFY2(commands[i].contains("--vary b=" + values[i] + ":" + values[i] + ":1"), commands[i].constData());
            QStringList args;
            for (int w = 1; w < words.size(); ++w) args << QString::fromUtf8(words[w]);
            const Run rj = runCli(args, {.cwd = jobs});
            QVERIFY2(rj.exitCode == 0, rj.err.constData());
        }
        const Run merged = runCli({"sweep", "--merge", dir + "/merged.csv", jobs + "/part_003.csv", jobs + "/part_001.csv", jobs + "/part_000.csv", jobs + "/part_002.csv"});
        checkOk(merged);
        QCOMPARE(summaryOf(merged).value("values").toInt(), 4);
        const Run once = runCli({"sweep", scenario, "--panel", "1", "--vary", "b=0.5:2:4", "--metric", "mean_radius", "--out", dir + "/once.csv", "--threads", "1"});
        checkOk(once);
        QCOMPARE(readAll(dir + "/merged.csv"), readAll(dir + "/once.csv"));

        const QString bash = QStandardPaths::findExecutable("bash");
        if (bash.isEmpty()) TL_REQUIRE_OR_SKIP("no bash: the Slurm script is not run");
        const QByteArray part1 = readAll(jobs + "/part_001.csv");
        QVERIFY(QFile::remove(jobs + "/part_001.csv"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("SLURM_ARRAY_TASK_ID", "1");
        env.insert("TRANSPORTLAB_CLI", QStringLiteral(TL_CLI_PATH));
        p.setProcessEnvironment(env);
        p.setWorkingDirectory(jobs);
        p.start(bash, {"sweep.slurm"});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        QCOMPARE(readAll(jobs + "/part_001.csv"), part1);
    }

    // GNU parallel for real: the emitted commands.txt run as HOW.txt says (`parallel --halt now,fail=1 <
    // commands.txt` in the jobs folder, two at a time, transportlab-cli on PATH), then --merge: the
    // merged table equals the local one-shot sweep's, value for value (byte for byte).
    void gnuParallelRunsTheEmittedJobs() {
        const QString parallel = QStandardPaths::findExecutable("parallel");
        if (parallel.isEmpty()) TL_REQUIRE_OR_SKIP("GNU parallel is not installed; scripts/install-deps.sh installs it");
        const QString dir = freshDir();
        const auto [scenario, jobs] = emitParticleSweep(dir, 5);
        QVERIFY(readAll(jobs + "/HOW.txt").contains("parallel --halt now,fail=1 < commands.txt"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("PATH", QFileInfo(QStringLiteral(TL_CLI_PATH)).absolutePath() + ":" + env.value("PATH"));
        p.setProcessEnvironment(env);
        p.setWorkingDirectory(jobs);
        p.setStandardInputFile(jobs + "/commands.txt");
        p.start(parallel, {"--will-cite", "--jobs", "2", "--halt", "now,fail=1"});
        QVERIFY(p.waitForFinished(120000 * kSlowdown));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAllStandardError().constData());
        QStringList parts;
        for (int i = 0; i < 5; ++i) parts << QString("%1/part_%2.csv").arg(jobs).arg(i, 3, 10, QChar('0'));
        for (const QString& f : parts) QVERIFY2(QFile::exists(f), qPrintable(f));
        checkOk(runCli(QStringList{"sweep", "--merge", dir + "/merged.csv"} + parts));
        checkOk(runCli({"sweep", scenario, "--panel", "0", "--vary", "b=0.5:2:5", "--metric", "mean_radius", "--out", dir + "/once.csv", "--threads", "1"}));
        QCOMPARE(readAll(dir + "/merged.csv"), readAll(dir + "/once.csv"));
    }

    // Slurm for real: a single-node cluster (tests/cli/slurm_cluster.sh: munged, slurmctld and slurmd from
    // a slurm.conf generated in a temporary folder, own munge key, free ports; torn down after), the
    // emitted sweep.slurm submitted with `sbatch --wait` as HOW.txt says, then --merge: the merged table
    // equals the local one-shot sweep's, value for value (byte for byte). Where the cluster cannot start
    // (not root, a container without the daemons) the reason is the skip, or the failure under
    // TL_REQUIRE_ALL=1.
    void slurmRunsTheEmittedArray() {
        const QString bash = QStandardPaths::findExecutable("bash");
        if (bash.isEmpty()) TL_REQUIRE_OR_SKIP("no bash: the Slurm cluster is not started");
        const QString cluster = freshDir() + "/cluster";
        const QString script = QStringLiteral(TL_SOURCE_DIR "/tests/cli/slurm_cluster.sh");
        struct Teardown {
            QString bash, script, dir;
            ~Teardown() { QProcess::execute(bash, {script, "stop", dir}); }
        } teardown{bash, script, cluster};
        QProcess start;
        start.start(bash, {script, "start", cluster});
        QVERIFY(start.waitForFinished(60000));
        if (start.exitStatus() != QProcess::NormalExit || start.exitCode() != 0)
            TL_REQUIRE_OR_SKIP("no single-node Slurm cluster: " + QString::fromUtf8(start.readAllStandardError()).trimmed());
        const QString conf = QString::fromUtf8(start.readAllStandardOutput()).trimmed().section('=', 1);
        QVERIFY2(QFile::exists(conf), qPrintable(conf));

        const QString dir = freshDir();
        const auto [scenario, jobs] = emitParticleSweep(dir, 3);
        QVERIFY(readAll(jobs + "/HOW.txt").contains("sbatch sweep.slurm"));
        const QString sbatch = QStandardPaths::findExecutable("sbatch");
        QVERIFY2(!sbatch.isEmpty(), "slurm_cluster.sh started a cluster but sbatch is not on PATH");
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("SLURM_CONF", conf);
        env.insert("TRANSPORTLAB_CLI", QStringLiteral(TL_CLI_PATH));
        p.setProcessEnvironment(env);
        p.setWorkingDirectory(jobs);
        p.start(sbatch, {"--wait", "--export=ALL", "sweep.slurm"});
        QVERIFY(p.waitForFinished(180000 * kSlowdown));
        QString outputs;
        for (const QString& f : QDir(jobs).entryList({"slurm-*.out"})) outputs += f + ": " + QString::fromUtf8(readAll(jobs + "/" + f)) + "\n";
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                 qPrintable(QString::fromUtf8(p.readAllStandardError()) + outputs));
        QVERIFY2(QString::fromUtf8(p.readAllStandardOutput()).startsWith("Submitted batch job"), qPrintable(outputs));
        QCOMPARE(QDir(jobs).entryList({"slurm-*.out"}).size(), 3);  // one per array task: Slurm ran them
        QStringList parts;
        for (int i = 0; i < 3; ++i) parts << QString("%1/part_%2.csv").arg(jobs).arg(i, 3, 10, QChar('0'));
        for (const QString& f : parts) QVERIFY2(QFile::exists(f), qPrintable(f + "\n" + outputs));
        checkOk(runCli(QStringList{"sweep", "--merge", dir + "/merged.csv"} + parts));
        checkOk(runCli({"sweep", scenario, "--panel", "0", "--vary", "b=0.5:2:3", "--metric", "mean_radius", "--out", dir + "/once.csv", "--threads", "1"}));
        QCOMPARE(readAll(dir + "/merged.csv"), readAll(dir + "/once.csv"));
    }

    // --merge of two parts (given in reverse order) equals the one-shot sweep byte for byte; with --png.
    void mergeTwoPartsEqualsOneShot() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kParticles);
        const QStringList common{"--panel", "1", "--metric", "mean_radius", "--threads", "1"};
        checkOk(runCli(QStringList{"sweep", scenario, "--vary", "b=1:2:3", "--out", dir + "/p1.csv"} + common));
        checkOk(runCli(QStringList{"sweep", scenario, "--vary", "b=2.5:3:2", "--out", dir + "/p2.csv"} + common));
        checkOk(runCli(QStringList{"sweep", scenario, "--vary", "b=1:3:5", "--out", dir + "/all.csv"} + common));
        const Run r = runCli({"sweep", "--merge", dir + "/m.csv", dir + "/p2.csv", dir + "/p1.csv", "--png", dir + "/m.png"});
        checkOk(r);
        QCOMPARE(summaryOf(r).value("parts").toInt(), 2);
        QCOMPARE(readAll(dir + "/m.csv"), readAll(dir + "/all.csv"));
        QImage img;
        QVERIFY(img.load(dir + "/m.png", "PNG"));
        QCOMPARE(img.size(), QSize(960, 600));
    }

    // Merge errors: a part with another header (named), a part given twice, a missing part; nothing written.
    void mergeErrors() {
        const QString dir = freshDir();
        writeText(dir + "/a.csv", "value,t,energy\n1,0,2\n1,1,3\n");
        writeText(dir + "/b.csv", "value,t,mean_radius\n2,0,2\n");
        writeText(dir + "/c.csv", "x,y\n1,2\n");
        const QStringList before = dirEntries(dir);
        checkError(runCli({"sweep", "--merge", dir + "/out.csv", dir + "/a.csv", dir + "/b.csv"}), {"b.csv", "header"}, dir, before);
        checkError(runCli({"sweep", "--merge", dir + "/out.csv", dir + "/a.csv", dir + "/a.csv"}), {"a.csv", "once"}, dir, before);
        checkError(runCli({"sweep", "--merge", dir + "/out.csv", dir + "/c.csv"}), {"c.csv", "value,t"}, dir, before);
        checkError(runCli({"sweep", "--merge", dir + "/out.csv", dir + "/nope.csv"}), {"nope.csv"}, dir, before);
        checkError(runCli({"sweep", "--merge", dir + "/out.csv"}), {"PART"}, dir, before);
    }

    // Bad input: exit 1, one line naming the problem, nothing written.
    void errors_data() {
        QTest::addColumn<QByteArray>("scenario");
        QTest::addColumn<QStringList>("args");  // %S = scenario, %D = case folder
        QTest::addColumn<QStringList>("expect");
        const QStringList out{"--out", "%D/out.csv"};
        const QByteArray gf = kGradientFlow, two = kParticles;
        QTest::newRow("unknown key") << gf << QStringList{"sweep", "%S", "--vary", "bogus=1:2:3", "--metric", "energy"} + out << QStringList{"'bogus'", "tau"};
        QTest::newRow("choice key") << gf << QStringList{"sweep", "%S", "--vary", "energy=1:2:3", "--metric", "energy"} + out << QStringList{"'energy'", "choice"};
        QTest::newRow("boolean key") << gf << QStringList{"sweep", "%S", "--vary", "entropic_correction=0:1:2", "--metric", "energy"} + out
                                     << QStringList{"'entropic_correction'", "boolean"};
        QTest::newRow("COUNT 0") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:0", "--metric", "energy"} + out << QStringList{"COUNT"};
        QTest::newRow("COUNT not integer") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2.5", "--metric", "energy"} + out << QStringList{"COUNT"};
        QTest::newRow("COUNT 1, FROM != TO") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:1", "--metric", "energy"} + out << QStringList{"FROM = TO"};
        QTest::newRow("FROM:TO malformed") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:3", "--metric", "energy"} + out << QStringList{"KEY=FROM:TO:COUNT"};
        QTest::newRow("TO not a number") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:x:3", "--metric", "energy"} + out << QStringList{"'x'"};
        QTest::newRow("no KEY") << gf << QStringList{"sweep", "%S", "--vary", "0.1:0.2:3", "--metric", "energy"} + out << QStringList{"KEY=FROM:TO:COUNT"};
        QTest::newRow("out of range") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.01:200:3", "--metric", "energy"} + out << QStringList{"'tau'", "[1e-06, 100]"};
        QTest::newRow("integer out of range") << gf << QStringList{"sweep", "%S", "--vary", "grid=4:16:3", "--metric", "energy"} + out << QStringList{"'grid'"};
        QTest::newRow("unknown metric") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.05:0.1:2", "--metric", "nope"} + out
                                        << QStringList{"'nope'", "available", "energy", "cov_xx"};
        QTest::newRow("panel out of range") << gf << QStringList{"sweep", "%S", "--panel", "3", "--vary", "tau=0.1:0.2:2", "--metric", "energy"} + out
                                            << QStringList{"--panel", "1 panel"};
        QTest::newRow("several panels, no --panel") << two << QStringList{"sweep", "%S", "--vary", "b=1:2:2", "--metric", "mean_radius"} + out
                                                    << QStringList{"--panel", "2 panels"};
        QTest::newRow("missing --out") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2", "--metric", "energy"} << QStringList{"--out"};
        QTest::newRow("missing --metric") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2"} + out << QStringList{"--metric"};
        QTest::newRow("missing --vary") << gf << QStringList{"sweep", "%S", "--metric", "energy"} + out << QStringList{"--vary"};
        QTest::newRow("folder of --out missing") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--out", "%D/no/out.csv"}
                                                 << QStringList{"no"};
        QTest::newRow("--png = --out") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--png", "%D/out.csv"} + out
                                       << QStringList{"same file"};
        QTest::newRow("missing scenario") << QByteArray() << QStringList{"sweep", "%D/nope.json", "--vary", "tau=0.1:0.2:2", "--metric", "energy"} + out
                                          << QStringList{"nope.json"};
        QTest::newRow("unknown option") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--bogus"} + out << QStringList{"--bogus"};
        QTest::newRow("--jobs with --emit-jobs") << gf << QStringList{"sweep", "%S", "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--emit-jobs", "%D/jobs", "--jobs", "2"}
                                                 << QStringList{"--jobs"};
        QTest::newRow("failing run") << QByteArray(R"({"source": "moons:n=50,seed=1", "target": "moons:n=50,seed=2", "frames": 3,
                                                      "panels": [{"dynamics": "flow-matching", "field": "closed-form"}]})")
                                     << QStringList{"sweep", "%S", "--vary", "delta=0.001:0.01:2", "--metric", "cov_xx"} + out << QStringList{"delta=", "Gaussian"};
    }
    void errors() {
        QFETCH(QByteArray, scenario);
        QFETCH(QStringList, args);
        QFETCH(QStringList, expect);
        const QString dir = freshDir();
        const QString path = scenario.isEmpty() ? QString() : writeScenario(dir, scenario);
        for (QString& a : args) a.replace("%S", path).replace("%D", dir);
        const QStringList before = dirEntries(dir);
        const Run r = runCli(args);
        checkError(r, expect, dir, before);
        qInfo("%s", r.err.trimmed().constData());
    }

    // --emit-jobs into a non-empty folder is refused; the folder is left as it was.
    void emitJobsRefusesNonEmptyFolder() {
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, kGradientFlow);
        QDir().mkpath(dir + "/jobs");
        writeText(dir + "/jobs/keep.txt", "x");
        const Run r = runCli({"sweep", scenario, "--vary", "tau=0.1:0.2:2", "--metric", "energy", "--emit-jobs", dir + "/jobs"});
        checkError(r, {"jobs"}, dir, QStringList{"jobs", "scenario.json"});
        QCOMPARE(dirEntries(dir + "/jobs"), QStringList{"keep.txt"});
    }

    // SIGINT (Ctrl-C) or SIGTERM during a sweep: every run is cancelled, exit 1 with one line, nothing written.
    void interruptWritesNothing_data() {
        QTest::addColumn<int>("signal");
        QTest::newRow("SIGINT") << int(SIGINT);
        QTest::newRow("SIGTERM") << int(SIGTERM);
    }
    void interruptWritesNothing() {
        QFETCH(int, signal);
        const QString dir = freshDir();
        const QString scenario = writeScenario(dir, R"({"source": "gaussian:n=400,seed=1", "frames": 11,
            "panels": [{"dynamics": "interacting-particles", "steps": 10000000}]})");
        const QStringList before = dirEntries(dir);
        QProcess p;
        p.start(QStringLiteral(TL_CLI_PATH), {"sweep", scenario, "--vary", "b=1:3:4", "--metric", "mean_radius", "--out", dir + "/out.csv", "--png", dir + "/out.png"});
        QVERIFY(p.waitForStarted(10000));
        QTest::qWait(1500);
        QCOMPARE(p.state(), QProcess::Running);
        QVERIFY(::kill(static_cast<pid_t>(p.processId()), signal) == 0);
        QVERIFY2(p.waitForFinished(15000), "the CLI did not stop after the signal");
        Run r;
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        checkError(r, {"interrupted by " + QString(signal == SIGINT ? "SIGINT" : "SIGTERM")}, dir, before, 128 + signal);
    }
};

QTEST_GUILESS_MAIN(TestCliSweep)
#include "tst_cli_sweep.moc"
