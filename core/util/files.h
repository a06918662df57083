// File helpers shared by every writer: all output goes through writeFileAtomic, so a crash,
// a cancel or a full disk never leaves a half-written file under the final name.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tl {

// Input caps: a file larger than its cap is refused (tl::Error) before it is read, so a huge or
// endless input cannot exhaust memory. readFile's default cap suits scenarios and other small text
// files; CSV point clouds and images have their own (measure/csv.h, measure/image_density.h).
inline constexpr std::size_t kMiB = std::size_t(1) << 20;
inline constexpr std::size_t kMaxReadBytes = 256 * kMiB;

// Writes `content` to a temporary file beside `path`, then renames it over `path`.
// Throws tl::Error naming the path on failure (and removes the temporary). Refuses a target that
// exists and is not a regular file (a folder, a device, a FIFO).
void writeFileAtomic(const std::string& path, std::string_view content);

// Writes several files all-or-nothing (an AtomicWriteSet): every content goes to a temporary first;
// only when all are written are they renamed into place; a failure leaves every target as it was.
void writeFilesAtomic(const std::vector<std::pair<std::string, std::string>>& files);

// Several output files written all-or-nothing. add() checks a target (a regular file or nothing,
// its folder exists, not the same file as another target of the set) and writes its content to a
// hidden temporary beside it ('.<name>.tmp-XXXXXX'); commit() renames the temporaries onto their
// targets. If a rename fails, the targets already replaced get their previous file back (kept as a
// hard link '.<name>.bak-XXXXXX' until the commit ends) or are removed if they did not exist, every
// temporary is removed, and tl::Error is thrown. Destroyed uncommitted, it removes its temporaries.
class AtomicWriteSet {
public:
    AtomicWriteSet() = default;
    ~AtomicWriteSet();
    AtomicWriteSet(const AtomicWriteSet&) = delete;
    AtomicWriteSet& operator=(const AtomicWriteSet&) = delete;

    // `label` names the target in messages (e.g. "--plan-out"); empty: the path alone.
    void add(const std::string& path, std::string_view content, const std::string& label = "");
    void commit();
    // The checks add() makes, for (path, label) pairs, before any expensive work; writes nothing.
    static void check(const std::vector<std::pair<std::string, std::string>>& targets);

private:
    struct Entry {
        std::string path, label, tmp, backup;
        bool renamed = false;
    };
    void rollback() noexcept;
    std::vector<Entry> entries_;
    bool committed_ = false;
};

// Reads a whole regular file of at most maxBytes; throws tl::Error naming the path otherwise (a
// missing file, a folder, a FIFO, a socket or a device such as /dev/zero is refused at once,
// without blocking and without reading it).
std::string readFile(const std::string& path, std::size_t maxBytes = kMaxReadBytes);

// The checks readFile makes before reading: `path` is a regular file of at most maxBytes.
void checkRegularFile(const std::string& path, std::size_t maxBytes = kMaxReadBytes);

// Resolves `path` against `baseDir` when it is relative (and baseDir is not empty).
std::string resolvePath(const std::string& path, const std::string& baseDir);

// An output folder assembled under a hidden temporary name beside its target ('.<name>.tmp-XXXXXX')
// and renamed onto the target by commit() only when complete; destroyed (or discard()ed) before
// that, it removes the temporary tree, so a cancel, an error or an exception leaves nothing.
//
// An existing target is never replaced when it is the root folder, $HOME or a folder above it, the
// current folder or a folder above it, or one of `protect` or a folder above it (compared after
// resolving symbolic links); the message names the folder and why.
struct StagedFolderOptions {
    bool replaceNonEmpty = false;  // else an existing non-empty target is refused (an empty one is always replaced)
    std::string label;             // how messages name the target; default "'<target>'"
    std::string notEmptyHint;      // appended to the "not empty" message, e.g. " (use --force to replace it)"
    // Folders never replaced, nor any folder above them: (folder, what it is for messages, e.g.
    // "the folder of the scenario file 'a/s.json'").
    std::vector<std::pair<std::filesystem::path, std::string>> protect;
    // When set, an existing non-empty target is replaced only if this says it holds an earlier output
    // of the same kind (e.g. simulate's summary.json), with or without replaceNonEmpty; else the
    // message is label + " is not empty" + notOwnHint.
    std::function<bool(const std::filesystem::path&)> isOwnOutput;
    std::string notOwnHint;
};

class StagedFolder {
public:
    // Checks the target (not a file; empty or replaceable; its parent folder exists) and creates the
    // temporary folder. `target` may end in '/'. Throws tl::Error with a one-line message.
    explicit StagedFolder(const std::string& target, const StagedFolderOptions& options = {});
    ~StagedFolder();
    StagedFolder(const StagedFolder&) = delete;
    StagedFolder& operator=(const StagedFolder&) = delete;

    const std::filesystem::path& path() const { return tmp_; }        // where to write
    const std::filesystem::path& target() const { return target_; }   // absolute, normalised, no trailing '/'
    bool committed() const { return committed_; }
    // Renames the temporary folder onto the target, replacing what is there; throws tl::Error on failure
    // (the temporary is then removed and an existing target is left as it was).
    void commit();
    // Removes the temporary folder now (idempotent; nothing happens after commit()).
    void discard();

private:
    std::string name_;  // the target as given, for messages
    std::filesystem::path target_, tmp_;
    bool committed_ = false;
};

}  // namespace tl
