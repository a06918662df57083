// Tests what `transportlab-cli simulate SCENARIO.json --out DIR --force` may replace. It replaces only
// an earlier simulate output (a folder with simulate's summary.json) and never: the current folder or
// a folder above it, the folder holding the scenario file or a folder above it, $HOME or a folder above
// it, the root folder (symbolic links resolved), nor a non-empty folder of other files (with or
// without --force). Each refusal: exit 1, nothing on stdout, one line on stderr naming the folder and
// the reason; the folder and everything beside it exactly as before. In every protected case the
// target *is* a genuine simulate output, so only the location rule can refuse it. All folders live in
// a temporary folder (HOME is pointed into it too); `--out /` is refused before anything is written.
#include <QtTest>

#include "test_support.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>

namespace {

using namespace tltest;  // the helpers of tests/common

// Every entry below `dir` (hidden included) with a hash of each file's content: any change shows.
QStringList snapshot(const QString& dir) {
    QStringList all;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QFileInfo fi = it.fileInfo();
        QString line = QDir(dir).relativeFilePath(path);
        if (fi.isFile() && !fi.isSymLink()) line += " " + QCryptographicHash::hash(readAll(path), QCryptographicHash::Sha1).toHex();
        all << line;
    }
    all.sort();
    return all;
}

const QByteArray kScenario =
    R"({"source": "gaussian:n=40,seed=1", "target": "moons:n=40,seed=2", "frames": 3, "panels": [{"dynamics": "ot-displacement"}]})";

}  // namespace

class TestCliSimulateForce : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    int case_ = 0;
    QProcessEnvironment env_;

    // A case folder `base` holding s.json and run/ (a genuine simulate output of s.json).
    QString freshCase() {
        const QString base = QDir(tmp_.path()).canonicalPath() + QString("/case%1").arg(case_++);
        QDir().mkpath(base + "/home");
        writeText(base + "/s.json", kScenario);
        const Run r = runCli({"simulate", base + "/s.json", "--out", base + "/run"}, {.cwd = base, .env = env_});
        if (r.exitCode != 0) qWarning("simulate: %s", r.err.constData());
        return base;
    }

    // The refusal contract for `base`: exit 1, no stdout, one line with every word, nothing changed.
    void checkRefused(const Run& r, const QStringList& words, const QString& base, const QStringList& before) {
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(r.exitCode == 1, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(err)));
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        QVERIFY2(err.startsWith("error: ") && err.endsWith('\n') && err.count('\n') == 1, qPrintable("stderr: " + err));
        for (const QString& w : words) QVERIFY2(err.contains(w), qPrintable(QString("'%1' not in: %2").arg(w, err)));
        QCOMPARE(snapshot(base), before);
        qInfo("%s", qPrintable(err.trimmed()));
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        env_ = QProcessEnvironment::systemEnvironment();
        env_.insert("HOME", QDir(tmp_.path()).canonicalPath() + "/nohome");  // never the real one
    }

    // The output folder carries summary.json: the same JSON object as printed on stdout.
    void summaryFile() {
        const QString base = freshCase();
        const Run r = runCli({"simulate", base + "/s.json", "--out", base + "/again"}, {.cwd = base, .env = env_});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonDocument printed = QJsonDocument::fromJson(r.out);
        const QJsonDocument written = QJsonDocument::fromJson(readAll(base + "/again/summary.json"));
        QVERIFY(printed.isObject() && printed.object().contains("panels"));
        QCOMPARE(written, printed);
    }

    // cwd / out / scenario / HOME relative to the case folder; %B = the case folder itself.
    void refusesProtected_data() {
        QTest::addColumn<QString>("cwd");
        QTest::addColumn<QString>("out");
        QTest::addColumn<QString>("scenario");
        QTest::addColumn<QString>("home");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("current folder, '.'") << "run" << "." << "s.json" << "home" << QStringList{"'.'", "is the current folder"};
        QTest::newRow("current folder, absolute") << "run" << "%B/run" << "s.json" << "home" << QStringList{"/run'", "is the current folder"};
        QTest::newRow("current folder, trailing slash") << "run" << "%B/run/" << "s.json" << "home" << QStringList{"is the current folder"};
        QTest::newRow("current folder, via a symlink") << "run" << "%B/alias" << "s.json" << "home" << QStringList{"alias'", "is the current folder"};
        QTest::newRow("above the current folder") << "run/panel0" << "%B/run" << "s.json" << "home" << QStringList{"holds the current folder"};
        QTest::newRow("above the current folder, '..'") << "run/panel0" << ".." << "s.json" << "home" << QStringList{"'..'", "holds the current folder"};
        QTest::newRow("scenario folder") << "." << "%B/run" << "run/scenario.json" << "home" << QStringList{"the folder of the scenario file", "scenario.json"};
        QTest::newRow("above the scenario folder") << "." << "run" << "run/panel0/s.json" << "home"
                                                   << QStringList{"'run'", "holds the folder of the scenario file"};
        QTest::newRow("home") << "." << "run" << "s.json" << "run" << QStringList{"'run'", "home folder"};
        QTest::newRow("above home") << "." << "run" << "s.json" << "run/panel0" << QStringList{"holds the home folder"};
        QTest::newRow("root") << "." << "/" << "s.json" << "home" << QStringList{"'/'", "root folder"};
    }
    void refusesProtected() {
        QFETCH(QString, cwd);
        QFETCH(QString, out);
        QFETCH(QString, scenario);
        QFETCH(QString, home);
        QFETCH(QStringList, words);
        const QString base = freshCase();
        QVERIFY(QFile::exists(base + "/run/summary.json"));
        QVERIFY(QFile::link(base + "/run", base + "/alias"));
        if (scenario == "run/panel0/s.json") QVERIFY(QFile::copy(base + "/s.json", base + "/run/panel0/s.json"));
        QProcessEnvironment env = env_;
        env.insert("HOME", base + "/" + home);
        const QStringList before = snapshot(base);
        out.replace("%B", base);
        const Run r = runCli({"simulate", base + "/" + scenario, "--out", out, "--force"}, {.cwd = base + "/" + cwd, .env = env});
        checkRefused(r, words, base, before);
        if (QTest::currentTestFailed()) return;
        // The same folder, named from elsewhere with nothing protecting it, is replaced: the refusal was
        // the location's doing, not the folder's.
        if (out != "/") {
            const Run ok = runCli({"simulate", base + "/s.json", "--out", base + "/run", "--force"}, {.cwd = base, .env = env_});
            QVERIFY2(ok.exitCode == 0, ok.err.constData());
            QVERIFY(QFile::exists(base + "/run/summary.json"));
            QVERIFY(!QFile::exists(base + "/run/panel0/s.json"));
        }
    }

    // A non-empty folder simulate did not write (no summary.json, or one that is not simulate's) is
    // refused with or without --force, and the message does not suggest --force.
    void refusesForeignFolder_data() {
        QTest::addColumn<QByteArray>("summary");  // content of a summary.json; empty = none
        QTest::addColumn<bool>("force");
        QTest::newRow("notes, --force") << QByteArray() << true;
        QTest::newRow("notes, no --force") << QByteArray() << false;
        QTest::newRow("summary.json not JSON") << QByteArray("not json") << true;
        QTest::newRow("summary.json of something else") << QByteArray(R"({"total": 3})") << true;
    }
    void refusesForeignFolder() {
        QFETCH(QByteArray, summary);
        QFETCH(bool, force);
        const QString base = freshCase();
        QDir().mkpath(base + "/notes/sub");
        writeText(base + "/notes/thesis.tex", "precious\n");
        writeText(base + "/notes/sub/data.csv", "x,y\n1,2\n");
        if (!summary.isEmpty()) writeText(base + "/notes/summary.json", summary);
        const QStringList before = snapshot(base);
        QStringList args{"simulate", base + "/s.json", "--out", base + "/notes"};
        if (force) args << "--force";
        const Run r = runCli(args, {.cwd = base, .env = env_});
        checkRefused(r, {"notes'", "summary.json", "choose a new or empty folder"}, base, before);
        QVERIFY2(!r.err.contains("use --force"), r.err.constData());
    }

    // An earlier output: refused without --force (suggesting it), replaced with it (files added to it
    // since are gone, no '.run.old' / '.run.tmp-' left).
    void replacesOwnOutput() {
        const QString base = freshCase();
        writeText(base + "/run/extra.txt", "added later\n");
        const QStringList before = snapshot(base);
        Run r = runCli({"simulate", base + "/s.json", "--out", base + "/run"}, {.cwd = base, .env = env_});
        checkRefused(r, {"run'", "use --force"}, base, before);
        r = runCli({"simulate", base + "/s.json", "--out", base + "/run", "--force"}, {.cwd = base, .env = env_});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(!QFile::exists(base + "/run/extra.txt"));
        QVERIFY(QFile::exists(base + "/run/panel0/frame_0002.csv"));
        QCOMPARE(QJsonDocument::fromJson(readAll(base + "/run/summary.json")), QJsonDocument::fromJson(r.out));
        QCOMPARE(QDir(base).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), (QStringList{"home", "run", "s.json"}));
    }
};

QTEST_GUILESS_MAIN(TestCliSimulateForce)
#include "tst_cli_simulate_force.moc"
