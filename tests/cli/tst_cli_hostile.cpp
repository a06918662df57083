// Tests the CLI against hostile input (the regressions of a fuzzing harness; inputs in tests/fuzz/corpus/):
// every refusal is exactly one printable line `error: ...` on stderr with exit 1, creates nothing in the
// output location, finishes at once (FIFOs, devices) and stays small (tiny files declaring huge images,
// huge or endless inputs): each run's peak RSS is measured with wait4 and must stay under 300 MB.
// Also checked in-process: tl::quoted / tl::oneLine and the rollback of tl::AtomicWriteSet.
// CTest label: fuzz (registered with label cli by tests/CMakeLists.txt's glob).
#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"

namespace {

using tltest::dirEntries;
using tltest::writeText;

#ifdef TL_SANITIZED
// ASan build (scripts/asan.sh): shadow memory and the 256 MB quarantine of freed blocks add to the
// peak RSS, and ASan cannot start under an address-space limit. The ceiling still catches the
// gigabyte allocations these inputs declare.
constexpr long kMaxRssKb = 1024 * 1024;
constexpr bool kLimitAddressSpace = false;
#else
constexpr long kMaxRssKb = 300 * 1024;  // every run, refused or not, stays below this
constexpr bool kLimitAddressSpace = true;
#endif

struct Run {
    int exitCode = -1;  // -2: killed by a signal, -3: timed out
    std::string out, err;
    long maxRssKb = 0;
    double seconds = 0;
};

// Runs the CLI with raw byte arguments (QProcess would re-encode invalid UTF-8), stdin from
// /dev/null, optionally under an address-space limit (a safety net should a regression allocate
// gigabytes); measures the child's peak RSS (wait4).
Run runCli(const std::vector<std::string>& args, std::size_t addressSpaceLimit = 0, int timeoutMs = 20000) {
    Run r;
    std::vector<char*> argv;
    std::string exe = TL_CLI_PATH;
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    int outPipe[2], errPipe[2];
    if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) return r;
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(outPipe[1], 1);
        ::dup2(errPipe[1], 2);
        if (addressSpaceLimit && kLimitAddressSpace) {
            struct rlimit as{addressSpaceLimit, addressSpaceLimit};
            ::setrlimit(RLIMIT_AS, &as);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(outPipe[1]);
    ::close(errPipe[1]);
    struct pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open = 2;
    bool timedOut = false;
    while (open > 0) {
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        if (elapsed > timeoutMs) {
            ::kill(pid, SIGKILL);
            timedOut = true;
            break;
        }
        if (::poll(fds, 2, 100) < 0) continue;
        for (int k = 0; k < 2; ++k) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[k]->append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                ::close(fds[k].fd);
                fds[k].fd = -1;
                --open;
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    struct rusage ru{};
    ::wait4(pid, &status, 0, &ru);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.maxRssKb = ru.ru_maxrss;
    r.exitCode = timedOut ? -3 : WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    return r;
}

QString show(const std::string& s) { return QString::fromStdString(tl::oneLine(s, 600)); }

// Exactly one line, "error: ...", printable: no control byte but the final newline, valid UTF-8.
bool isOneErrorLine(const std::string& err) {
    if (err.size() < 8 || err.rfind("error: ", 0) != 0 || err.back() != '\n') return false;
    for (std::size_t k = 0; k + 1 < err.size(); ++k) {
        const unsigned char c = static_cast<unsigned char>(err[k]);
        if (c < 0x20 || c == 0x7f) return false;
    }
    const QByteArray bytes(err.data(), static_cast<qsizetype>(err.size()));
    return QString::fromUtf8(bytes).toUtf8() == bytes;  // valid UTF-8 survives the round trip
}

}  // namespace

class TestCliHostile : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    QString corpus_, scratch_;
    QStringList scratchEntries_;
    int outCount_ = 0;

    std::string corpusFile(const char* name) { return tltest::readString(corpus_ + "/" + name); }
    std::string corpusPath(const char* name) { return (corpus_ + "/" + name).toStdString(); }
    std::string scratch(const char* name) { return (scratch_ + "/" + name).toStdString(); }

    // A fresh, empty output folder for one run.
    QString freshOut() {
        const QString dir = tmp_.filePath(QString("out-%1").arg(outCount_++));
        QDir().mkpath(dir);
        return dir;
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        corpus_ = QStringLiteral(TL_SOURCE_DIR "/tests/fuzz/corpus");
        QVERIFY2(QFile::exists(corpus_ + "/pgm_huge_header.pgm"), qPrintable(corpus_));
        scratch_ = tmp_.filePath("scratch");
        QVERIFY(QDir().mkpath(scratch_));
        // FIFOs (opening one for reading blocks until a writer comes), device links, folders.
        for (const char* name : {"fifo.csv", "fifo.pgm", "fifo.png", "fifo.json"}) QCOMPARE(::mkfifo(scratch(name).c_str(), 0600), 0);
        for (const char* name : {"zero.csv", "zero.pgm", "zero.png", "zero.json"}) QCOMPARE(::symlink("/dev/zero", scratch(name).c_str()), 0);
        for (const char* name : {"dir.csv", "dir.pgm", "dir.json"}) QVERIFY(QDir().mkpath(QString::fromStdString(scratch(name))));
        // Sparse files just over each byte cap (no disk space used).
        const std::pair<const char*, qint64> sparse[] = {
            {"big.csv", (qint64(1) << 30) + 1}, {"big.pgm", (qint64(256) << 20) + 1}, {"big.png", (qint64(256) << 20) + 1}, {"big.json", (qint64(256) << 20) + 1}};
        for (const auto& [name, size] : sparse) {
            QFile f(QString::fromStdString(scratch(name)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            QVERIFY(f.resize(size));
        }
        writeText(QString::fromStdString(scratch("ok.json")),
                  R"({"source": "gaussian:n=10,seed=1", "target": "disk:n=10,seed=2", "frames": 2, "panels": [{"dynamics": "ot-displacement"}]})");
        scratchEntries_ = dirEntries(scratch_);
    }

    // Hostile input refused: one line, exit 1, nothing in the output folder, fast, small.
    // %O in an argument is replaced by a fresh output folder.
    void refused_data() {
        QTest::addColumn<QByteArrayList>("args");
        QTest::addColumn<QStringList>("words");
        auto row = [](const char* name, std::vector<std::string> args, QStringList words) {
            QByteArrayList list;
            for (const auto& a : args) list << QByteArray(a.data(), static_cast<qsizetype>(a.size()));
            QTest::newRow(name) << list << words;
        };
        const std::string g = "gaussian:n=20,seed=1";
        // 1. user text with control bytes, escape sequences, binary bytes: escaped in one line.
        for (const char* f : {"spec_kind_escape.spec", "spec_key_newline.spec", "spec_value_binary.spec", "spec_list_cr.spec",
                              "spec_no_equals.spec", "spec_long_kind.spec"}) {
            row((std::string("measure SPEC ") + f).c_str(), {"measure", "--spec", corpusFile(f), "--out", "%O/m.csv"}, {});
            row((std::string("ot SPEC ") + f).c_str(), {"ot", "--source", g, "--target", corpusFile(f), "--plan-out", "%O/p.csv"}, {});
        }
        row("spec: ESC shown escaped", {"measure", "--spec", corpusFile("spec_kind_escape.spec"), "--out", "%O/m.csv"},
            {"unknown measure kind", "\\x1b", "\\xff", "\\n"});
        row("spec: long kind capped", {"measure", "--spec", corpusFile("spec_long_kind.spec"), "--out", "%O/m.csv"}, {"AAAA'…"});
        row("spec: value bytes", {"measure", "--spec", corpusFile("spec_value_binary.spec"), "--out", "%O/m.csv"},
            {"'radius'", "'\\x01\\x02\\x7f\\x80\\xc0\\xaf'"});
        row("csv header", {"measure", "--spec", corpusPath("csv_header_escape.csv"), "--out", "%O/m.csv"}, {"unknown column", "\\x1b[2J"});
        row("csv cell CR", {"measure", "--spec", corpusPath("csv_cell_cr.csv"), "--out", "%O/m.csv"}, {":2:", "\\r\\x1b[1A3"});
        row("csv cell binary", {"measure", "--spec", corpusPath("csv_cell_binary.csv"), "--out", "%O/m.csv"}, {":2:", "'\\xff\\xfe\\x01\\x9b'"});
        row("csv path newline", {"measure", "--spec", scratch("no\nsuch\x1b[0m.csv"), "--out", "%O/m.csv"}, {"cannot read", "no\\nsuch\\x1b[0m.csv"});
        row("image path newline", {"measure", "--spec", "image:path=" + scratch("a\nb.pgm"), "--out", "%O/m.csv"}, {"cannot read", "a\\nb.pgm"});
        row("image path CR (Qt)", {"measure", "--spec", "image:path=" + scratch("a\rb.png"), "--out", "%O/m.csv"}, {"cannot read", "a\\rb.png"});
        row("unknown option", {"ot", "--\x1b[31mred\nx", "1"}, {"unknown option", "\\x1b[31mred\\nx"});
        row("option value", {"ot", "--source", g, "--target", g, "--epsilon", "x\ny"}, {"--epsilon", "'x\\ny'"});
        // The last guard: a message built outside the files that quote (simulate's --out label).
        row("simulate --out newline", {"simulate", scratch("ok.json"), "--out", scratch("missing\nparent") + "/out"}, {"missing\\nparent"});
        // 2. tiny files declaring huge images, huge files: refused before allocating / reading.
        row("pgm 20000x20000 in 21 bytes", {"measure", "--spec", "image:path=" + corpusPath("pgm_huge_header.pgm"), "--out", "%O/m.csv"}, {"megapixels"});
        row("pgm 100 MP truncated", {"measure", "--spec", "image:path=" + corpusPath("pgm_truncated_100mp.pgm"), "--out", "%O/m.csv"}, {"truncated"});
        row("pgm ascii truncated", {"measure", "--spec", "image:path=" + corpusPath("pgm_ascii_truncated.pgm"), "--out", "%O/m.csv"}, {"truncated"});
        row("pgm width digits", {"measure", "--spec", "image:path=" + corpusPath("pgm_width_overflow.pgm"), "--out", "%O/m.csv"}, {"too large"});
        row("csv over 1 GiB", {"measure", "--spec", scratch("big.csv"), "--out", "%O/m.csv"}, {"1 GiB limit"});
        row("pgm over 256 MiB", {"measure", "--spec", "image:path=" + scratch("big.pgm"), "--out", "%O/m.csv"}, {"256 MiB limit"});
        row("png over 256 MiB", {"measure", "--spec", "image:path=" + scratch("big.png"), "--out", "%O/m.csv"}, {"256 MiB limit"});
        row("scenario over 256 MiB", {"simulate", scratch("big.json"), "--out", "%O/sim"}, {"256 MiB limit"});
        // 3. FIFOs, devices, folders: refused at once.
        row("csv FIFO", {"measure", "--spec", scratch("fifo.csv"), "--out", "%O/m.csv"}, {"FIFO"});
        row("pgm FIFO", {"measure", "--spec", "image:path=" + scratch("fifo.pgm"), "--out", "%O/m.csv"}, {"FIFO"});
        row("png FIFO (Qt)", {"measure", "--spec", "image:path=" + scratch("fifo.png"), "--out", "%O/m.csv"}, {"FIFO"});
        row("scenario FIFO", {"simulate", scratch("fifo.json"), "--out", "%O/sim"}, {"FIFO"});
        row("csv /dev/zero", {"measure", "--spec", scratch("zero.csv"), "--out", "%O/m.csv"}, {"character device"});
        row("pgm /dev/zero", {"measure", "--spec", "image:path=" + scratch("zero.pgm"), "--out", "%O/m.csv"}, {"character device"});
        row("png /dev/zero (Qt)", {"measure", "--spec", "image:path=" + scratch("zero.png"), "--out", "%O/m.csv"}, {"character device"});
        row("scenario /dev/zero", {"simulate", scratch("zero.json"), "--out", "%O/sim"}, {"character device"});
        row("csv folder", {"ot", "--source", scratch("dir.csv"), "--target", g}, {"directory"});
        row("pgm folder", {"measure", "--spec", "image:path=" + scratch("dir.pgm"), "--out", "%O/m.csv"}, {"directory"});
        row("scenario folder", {"simulate", scratch("dir.json"), "--out", "%O/sim"}, {"directory"});
        // 4. multi-file writes all-or-nothing, checked before the solve.
        row("ot potentials-out folder", {"ot", "--source", g, "--target", g, "--plan-out", "%O/plan.csv", "--potentials-out", "%O"},
            {"--potentials-out", "directory"});
        row("ot same file", {"ot", "--source", g, "--target", g, "--plan-out", "%O/x.csv", "--potentials-out", "%O/x.csv"}, {"same file"});
        row("ot same file, other spelling", {"ot", "--source", g, "--target", g, "--plan-out", "%O/x.csv", "--potentials-out", "%O/./x.csv"},
            {"same file"});
        row("ot missing folder", {"ot", "--source", g, "--target", g, "--plan-out", "%O/plan.csv", "--potentials-out", "%O/no/pot.csv"},
            {"does not exist"});
        row("ot empty plan-out", {"ot", "--source", g, "--target", g, "--plan-out="}, {"--plan-out", "file name"});
        row("ot plan-out /dev/null", {"ot", "--source", g, "--target", g, "--plan-out", "/dev/null"}, {"character device"});
        row("measure --out folder", {"measure", "--spec", g, "--out", "%O"}, {"directory"});
        // 5. weights out of range, JSON numbers out of range.
        row("csv weight 1e-400", {"measure", "--spec", corpusPath("csv_weight_underflow.csv"), "--out", "%O/m.csv"}, {":2:", "weight", "out of the range"});
        row("csv weight ratio underflows", {"measure", "--spec", corpusPath("csv_weight_ratio.csv"), "--out", "%O/m.csv"}, {"0 once normalised"});
        row("scenario number overflow", {"simulate", corpusPath("scenario_number_overflow.json"), "--out", "%O/sim"}, {"overflow"});
    }
    void refused() {
        QFETCH(QByteArrayList, args);
        QFETCH(QStringList, words);
        const QString out = freshOut();
        std::vector<std::string> argv;
        for (QByteArray a : args) argv.push_back(a.replace("%O", out.toUtf8()).toStdString());
        const Run r = runCli(argv, std::size_t(4) << 30);  // none of these gets as far as starting threads
        QVERIFY2(r.exitCode == 1, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(show(r.err))));
        QVERIFY2(isOneErrorLine(r.err), qPrintable(show(r.err)));
        QVERIFY2(r.out.empty(), qPrintable(show(r.out)));
        const QString err = QString::fromStdString(r.err);
        for (const QString& w : words) QVERIFY2(err.contains(w), qPrintable(show(r.err) + "   (want " + w + ")"));
        QVERIFY2(dirEntries(out).isEmpty(), qPrintable(dirEntries(out).join(", ")));
        QVERIFY2(dirEntries(scratch_) == scratchEntries_, qPrintable(dirEntries(scratch_).join(", ")));  // no temporaries beside inputs
        QVERIFY2(r.maxRssKb < kMaxRssKb, qPrintable(QString("peak RSS %1 MB").arg(r.maxRssKb / 1024)));
        QVERIFY2(r.seconds < 10, qPrintable(QString("%1 s").arg(r.seconds)));
    }

    // Every file of the corpus (the seeds and saved crashes of the libFuzzer targets, scripts/fuzz.sh),
    // named by target: spec_* (one SPEC argument), csv_* (a CSV file), pgm_* (a PGM image), scenario_*
    // (a scenario file). Each goes through the CLI as a user would give it: accepted (exit 0, one JSON
    // object, the output written) or refused (exit 1, one error line, nothing written); never a crash,
    // a hang or a large allocation. A file with another prefix is an error (so none is silently skipped).
    void corpusReplay_data() {
        QTest::addColumn<QString>("file");
        int rows = 0;
        for (const QString& f : QDir(QStringLiteral(TL_SOURCE_DIR "/tests/fuzz/corpus")).entryList(QDir::Files, QDir::Name)) {
            if (f == "README.md") continue;
            QTest::newRow(qPrintable(f)) << f;
            ++rows;
        }
        QVERIFY(rows >= 18);
    }
    void corpusReplay() {
        QFETCH(QString, file);
        const QString out = freshOut();
        const std::string path = (corpus_ + "/" + file).toStdString();
        std::vector<std::string> argv;
        QString written;  // what an accepted run writes into `out`
        if (file.startsWith("spec_")) {
            std::string spec = tltest::readString(corpus_ + "/" + file);
            spec = spec.substr(0, spec.find('\0'));  // an argument ends at a NUL byte
            argv = {"measure", "--spec", spec, "--out", (out + "/m.csv").toStdString()};
            written = "m.csv";
        } else if (file.startsWith("csv_")) {
            argv = {"measure", "--spec", path, "--out", (out + "/m.csv").toStdString()};
            written = "m.csv";
        } else if (file.startsWith("pgm_")) {
            argv = {"measure", "--spec", "image:path=" + path, "--out", (out + "/m.csv").toStdString()};
            written = "m.csv";
        } else if (file.startsWith("scenario_")) {
            argv = {"simulate", path, "--out", (out + "/sim").toStdString(), "--threads", "1"};
            written = "sim";
        } else {
            QFAIL(qPrintable("corpus file with an unknown prefix (spec_, csv_, pgm_, scenario_): " + file));
        }
        const Run r = runCli(argv, std::size_t(4) << 30, 60000);
        QVERIFY2(r.exitCode == 0 || r.exitCode == 1, qPrintable(QString("exit %1 (-2: signal, -3: timeout), stderr: %2").arg(r.exitCode).arg(show(r.err))));
        if (r.exitCode == 1) {
            QVERIFY2(isOneErrorLine(r.err), qPrintable(show(r.err)));
            QVERIFY2(r.out.empty(), qPrintable(show(r.out)));
            QVERIFY2(dirEntries(out).isEmpty(), qPrintable(dirEntries(out).join(", ")));
        } else {
            QVERIFY2(r.err.empty(), qPrintable(show(r.err)));
            QVERIFY2(r.out.size() > 2 && r.out.front() == '{' && r.out.back() == '\n' && r.out.find('\n') == r.out.size() - 1, qPrintable(show(r.out)));
            QCOMPARE(dirEntries(out), QStringList{written});
        }
        QVERIFY2(r.maxRssKb < kMaxRssKb, qPrintable(QString("peak RSS %1 MB").arg(r.maxRssKb / 1024)));
        qInfo("%s: exit %d %s", qPrintable(file), r.exitCode, qPrintable(show(r.exitCode ? r.err : std::string("accepted"))));
    }

    // The final JSON-number case names the file (the message comes from the scenario reader).
    void jsonOverflowNamesFile() {
        const QString out = freshOut();
        const Run r = runCli({"simulate", corpusPath("scenario_number_overflow.json"), "--out", (out + "/sim").toStdString()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(isOneErrorLine(r.err), qPrintable(show(r.err)));
        QVERIFY2(QString::fromStdString(r.err).contains("scenario_number_overflow.json"), qPrintable(show(r.err)));
    }

    // The top-level printer's guard: a message with raw user text from a file that does not quote
    // (simulate's --out label) still comes out as one escaped line.
    void guardEscapesOtherMessages() {
        const QString out = freshOut();
        writeText(out + "/exists\nfile", "x");
        const Run r = runCli({"simulate", scratch("ok.json"), "--out", (out + "/exists\nfile").toStdString()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(isOneErrorLine(r.err), qPrintable(show(r.err)));
        QVERIFY2(QString::fromStdString(r.err).contains("exists\\nfile"), qPrintable(show(r.err)));
        QCOMPARE(dirEntries(out), QStringList{"exists\nfile"});
    }

    // An output path that is not valid UTF-8 (a Latin-1 file name): written, and the JSON on stdout and
    // in summary.json is valid UTF-8 (the bad byte replaced by U+FFFD), not an error after the output
    // was written (the JSON writer's default refuses invalid UTF-8).
    void invalidUtf8OutputPath() {
        const QString out = freshOut();
        const std::string dir = out.toStdString() + "/sim\xff\xe9";
        const Run r = runCli({"simulate", scratch("ok.json"), "--out", dir});
        QVERIFY2(r.exitCode == 0, qPrintable(show(r.err)));
        QVERIFY2(r.err.empty(), qPrintable(show(r.err)));
        const QByteArray json(r.out.data(), static_cast<qsizetype>(r.out.size()));
        QVERIFY2(QString::fromUtf8(json).toUtf8() == json, qPrintable(show(r.out)));  // valid UTF-8
        QVERIFY2(json.contains("sim\xef\xbf\xbd"), qPrintable(show(r.out)));             // U+FFFD
        std::ifstream summary(dir + "/summary.json", std::ios::binary);  // the raw bytes of the path
        QCOMPARE(std::string(std::istreambuf_iterator<char>(summary), {}), r.out);
        int count = 0;  // QDir drops names that are not valid UTF-8: count with std::filesystem
        for (const auto& e : std::filesystem::directory_iterator(out.toStdString())) count += e.path().string() == dir ? 1 : 100;
        QCOMPARE(count, 1);
    }

    // An unknown subcommand: exit 2, still one escaped line.
    void unknownCommand() {
        const Run r = runCli({"\x1b[2J\nboom"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(isOneErrorLine(r.err), qPrintable(show(r.err)));
        QVERIFY(QString::fromStdString(r.err).contains("\\x1b[2J\\nboom"));
    }

    // Accepted: a UTF-8 BOM before the header; weights whose sum overflows a double.
    void accepted() {
        const QString out = freshOut();
        Run r = runCli({"measure", "--spec", corpusPath("csv_bom.csv"), "--out", (out + "/bom.csv").toStdString()});
        QVERIFY2(r.exitCode == 0, qPrintable(show(r.err)));
        QVERIFY2(QString::fromStdString(r.out).contains("\"n\":2"), qPrintable(show(r.out)));
        QCOMPARE(tltest::readString(out + "/bom.csv"), std::string("x,y,weight\n1,2,0.5\n3,4,0.5\n"));
        r = runCli({"measure", "--spec", corpusPath("csv_weight_overflow.csv"), "--out", (out + "/w.csv").toStdString()});
        QVERIFY2(r.exitCode == 0, qPrintable(show(r.err)));
        QCOMPARE(tltest::readString(out + "/w.csv"), std::string("x,weight\n0,0.5\n1,0.5\n"));
        QCOMPARE(dirEntries(out), (QStringList{"bom.csv", "w.csv"}));
    }

    // `transportlab-cli SUB --help` (and -h): that subcommand's usage on stdout, exit 0.
    void subcommandHelp_data() {
        QTest::addColumn<QString>("sub");
        for (const char* s : {"ot", "measure", "simulate", "render", "sweep", "kinds", "scenario-reference"}) QTest::newRow(s) << s;
    }
    void subcommandHelp() {
        QFETCH(QString, sub);
        for (const char* flag : {"--help", "-h"}) {
            const Run r = runCli({sub.toStdString(), flag});
            QVERIFY2(r.exitCode == 0, qPrintable(QString("%1 %2: exit %3, %4").arg(sub, flag).arg(r.exitCode).arg(show(r.err))));
            QVERIFY2(r.err.empty(), qPrintable(show(r.err)));
            const QString out = QString::fromStdString(r.out);
            QVERIFY2(out.startsWith("Usage") && out.contains("transportlab-cli " + sub), qPrintable(out));
        }
        const Run r = runCli({sub.toStdString(), "--help"});
        if (sub == "ot") QVERIFY(QString::fromStdString(r.out).contains("--plan-out"));
        if (sub == "measure") QVERIFY(QString::fromStdString(r.out).contains("--spec"));
        if (sub == "simulate") QVERIFY(QString::fromStdString(r.out).contains("--force"));
    }

    // The quoting helper itself.
    void quotedText() {
        QCOMPARE(tl::quoted("abc"), std::string("'abc'"));
        QCOMPARE(tl::quoted("a\nb\r\tc"), std::string("'a\\nb\\r\\tc'"));
        QCOMPARE(tl::quoted("it's a\\b"), std::string("'it\\'s a\\\\b'"));
        QCOMPARE(tl::quoted("\x1b[31m"), std::string("'\\x1b[31m'"));
        QCOMPARE(tl::quoted(std::string("\0\x7f", 2)), std::string("'\\x00\\x7f'"));
        QCOMPARE(tl::quoted("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80"), std::string("'caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80'"));  // valid UTF-8 kept
        QCOMPARE(tl::quoted("\xff\xc3(\xe2\x82"), std::string("'\\xff\\xc3(\\xe2\\x82'"));                                              // invalid, truncated
        QCOMPARE(tl::quoted("\xc0\xaf\xed\xa0\x80"), std::string("'\\xc0\\xaf\\xed\\xa0\\x80'"));                                        // overlong, surrogate
        QCOMPARE(tl::quoted("\xc2\x9b" "2J \xe2\x80\xae"), std::string("'\\xc2\\x9b2J \\xe2\\x80\\xae'"));                              // C1 CSI, bidi override
        QCOMPARE(tl::quoted("abcdef", 3), std::string("'abc'…"));
        QCOMPARE(tl::quoted("ab\ncd", 3), std::string("'ab'…"));  // never half an escape
        QCOMPARE(tl::quoted("\xc3\xa9\xc3\xa9", 3), std::string("'\xc3\xa9'…"));  // never half a character
        QCOMPARE(tl::quoted(std::string(1000, 'x')).size(), std::size_t(80 + 2 + 3));
        QCOMPARE(tl::quoted(std::string(1000, 'x'), 0).size(), std::size_t(1002));
        QCOMPARE(tl::oneLine("a 'b' \\ c\nd\x1b"), std::string("a 'b' \\ c\\nd\\x1b"));
    }

    // AtomicWriteSet: a rename that fails after another succeeded restores the first target.
    void atomicWriteSetRollback() {
        const QString dir = freshOut();
        const std::string a = (dir + "/a.csv").toStdString(), b = (dir + "/b.csv").toStdString(), c = (dir + "/c.csv").toStdString();
        writeText(dir + "/a.csv", "old a");
        {
            tl::AtomicWriteSet set;
            set.add(a, "new a", "--a");
            set.add(c, "new c", "--c");  // did not exist
            set.add(b, "new b", "--b");
            QCOMPARE(dirEntries(dir).size(), 4);  // a.csv + 3 temporaries
            QVERIFY(QDir().mkpath(dir + "/b.csv/inside"));  // now the last rename must fail
            QString msg;
            try {
                set.commit();
            } catch (const tl::Error& e) {
                msg = e.what();
            }
            QVERIFY2(msg.contains("--b") && msg.contains("b.csv"), qPrintable(msg));
        }
        QCOMPARE(tltest::readString(dir + "/a.csv"), std::string("old a"));
        QCOMPARE(dirEntries(dir), (QStringList{"a.csv", "b.csv"}));  // c.csv removed, no temporary or backup left
        QVERIFY(QDir(dir + "/b.csv/inside").exists());
        // Uncommitted: the destructor removes the temporaries.
        {
            tl::AtomicWriteSet set;
            set.add(c, "c");
        }
        QCOMPARE(dirEntries(dir), (QStringList{"a.csv", "b.csv"}));
        // Committed: every file in place, no backup left.
        {
            tl::AtomicWriteSet set;
            set.add(a, "newer a");
            set.add(c, "c");
            set.commit();
        }
        QCOMPARE(tltest::readString(dir + "/a.csv"), std::string("newer a"));
        QCOMPARE(dirEntries(dir), (QStringList{"a.csv", "b.csv", "c.csv"}));
        // writeFilesAtomic: a folder target fails before anything is written.
        QString msg;
        try {
            tl::writeFilesAtomic({{a, "x"}, {b, "y"}});
        } catch (const tl::Error& e) {
            msg = e.what();
        }
        QVERIFY2(msg.contains("directory"), qPrintable(msg));
        QCOMPARE(tltest::readString(dir + "/a.csv"), std::string("newer a"));
        QCOMPARE(dirEntries(dir), (QStringList{"a.csv", "b.csv", "c.csv"}));
    }

    // ot: an existing plan.csv is untouched when the other output cannot be written.
    void otKeepsExistingOutputs() {
        const QString out = freshOut();
        writeText(out + "/plan.csv", "old plan\n");
        const Run r = runCli({"ot", "--source", "disk:n=20,seed=1", "--target", "disk:n=20,seed=2", "--plan-out", (out + "/plan.csv").toStdString(),
                              "--potentials-out", (out + "/missing/pot.csv").toStdString()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(isOneErrorLine(r.err), qPrintable(show(r.err)));
        QCOMPARE(tltest::readString(out + "/plan.csv"), std::string("old plan\n"));
        QCOMPARE(dirEntries(out), QStringList{"plan.csv"});
        // And both are written when both can be.
        const Run ok = runCli({"ot", "--source", "disk:n=20,seed=1", "--target", "disk:n=20,seed=2", "--plan-out", (out + "/plan.csv").toStdString(),
                               "--potentials-out", (out + "/pot.csv").toStdString()});
        QVERIFY2(ok.exitCode == 0, qPrintable(show(ok.err)));
        QVERIFY(tltest::readString(out + "/plan.csv").rfind("i,j,mass\n", 0) == 0);
        QCOMPARE(dirEntries(out), (QStringList{"plan.csv", "pot.csv"}));
    }
};

QTEST_GUILESS_MAIN(TestCliHostile)
#include "tst_cli_hostile.moc"
