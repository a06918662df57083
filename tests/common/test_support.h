// Helpers shared by the test programs (one definition each): running a program or transportlab-cli and
// collecting its exit code and output, writing and reading whole files, ffprobe's view of a video, and
// random test matrices. Header-only; every test gets tests/common on its include path (tests/CMakeLists.txt).
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFileInfo>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <string>

// A missing optional dependency (POT, python3-vtk9, an X server, bash): the test skips, saying what
// is missing, or fails under TL_REQUIRE_ALL=1 (set by .ci/run and scripts/test.sh), so that CI never
// passes a check it did not run. Use only for what the machine lacks, never for a build option.
#define TL_REQUIRE_OR_SKIP(why)                                                                               \
    do {                                                                                                      \
        const QString tlWhy_ = (why);                                                                         \
        if (qEnvironmentVariableIntValue("TL_REQUIRE_ALL") == 1)                                              \
            QFAIL(qPrintable("TL_REQUIRE_ALL=1 and a dependency is missing: " + tlWhy_));                     \
        QSKIP(qPrintable(tlWhy_));                                                                            \
    } while (0)

namespace tltest {

#ifdef TL_SANITIZED
constexpr int kSlowdown = 4;  // ASan + UBSan (scripts/asan.sh) or TSan (tsan.sh) build: everything runs several times slower
constexpr bool kSanitized = true;  // numerics-heavy tests take smaller problems (same code paths; Release keeps the full checks)
#else
constexpr int kSlowdown = 1;
constexpr bool kSanitized = false;
#endif

// Numerics-heavy tests take smaller problems (coarser grids, fewer frames, fewer SIMD rows for the
// longest convergence runs) in sanitized builds, or in any build with TL_TEST_SMALL=1 (to check
// that the small sizes still pass their bounds without an ASan build). The code paths stay the
// same; Release runs the full problems.
inline bool smallProblems() { return kSanitized || qEnvironmentVariableIntValue("TL_TEST_SMALL") == 1; }

// What a finished process left: exit code (-1: did not start or timed out, see err; -2: crashed, e.g.
// abort()), its stdout and stderr, and the wall time in milliseconds.
struct Run {
    int exitCode = -1;
    QByteArray out, err;
    qint64 ms = 0;
};

struct RunOptions {
    QString cwd = {};  // empty: the test's own
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    int timeoutMs = 120000 * kSlowdown;
};

// Runs `program` with `args` (stdin closed) and waits for it; a timeout kills it.
inline Run runProgram(const QString& program, const QStringList& args, const RunOptions& options = {}) {
    QProcess p;
    if (!options.cwd.isEmpty()) p.setWorkingDirectory(options.cwd);
    p.setProcessEnvironment(options.env);
    QElapsedTimer timer;
    timer.start();
    p.start(program, args);
    Run r;
    if (!p.waitForStarted(10000)) {
        r.err = "failed to start " + program.toUtf8();
        return r;
    }
    p.closeWriteChannel();
    if (!p.waitForFinished(options.timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.ms = timer.elapsed();
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

#ifdef TL_CLI_PATH
inline Run runCli(const QStringList& args, const RunOptions& options = {}) {
    return runProgram(QStringLiteral(TL_CLI_PATH), args, options);
}
#endif

// Writes `text` to `path` (replacing it); false if the file cannot be written.
inline bool writeText(const QString& path, const QByteArray& text) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(text) == text.size();
}
inline bool writeText(const QString& path, const std::string& text) {
    return writeText(path, QByteArray::fromStdString(text));
}
inline bool writeText(const QString& path, const char* text) { return writeText(path, QByteArray(text)); }

// The whole file, or empty if it cannot be read.
inline QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The whole file as a std::string, or empty if it cannot be read.
inline std::string readString(const QString& path) { return readAll(path).toStdString(); }

// The entries of `dir` (hidden and system ones included: temporaries count), sorted by name.
inline QStringList dirEntries(const QString& dir) {
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
}

// Every entry below `dir` as a relative path ("a", "a/b", ...), hidden ones included, depth first, by name.
inline QStringList dirTree(const QString& dir) {
    QStringList all;
    for (const QFileInfo& fi : QDir(dir).entryInfoList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name)) {
        all << fi.fileName();
        if (fi.isDir() && !fi.isSymLink())
            for (const QString& sub : dirTree(fi.filePath())) all << fi.fileName() + "/" + sub;
    }
    return all;
}

// ffprobe's view of the first video stream of `file` (frames counted by decoding them): codec_name,
// width, height, nb_read_frames, r_frame_rate, pix_fmt. Empty if ffprobe fails.
inline QJsonObject probeVideo(const QString& file) {
    const Run r = runProgram("ffprobe", {"-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                                         "stream=codec_name,width,height,nb_read_frames,r_frame_rate,pix_fmt", "-of", "json", file});
    if (r.exitCode != 0) {
        qWarning("ffprobe %s: exit %d: %s", qPrintable(file), r.exitCode, r.err.constData());
        return {};
    }
    return QJsonDocument::fromJson(r.out).object().value("streams").toArray().at(0).toObject();
}

}  // namespace tltest
