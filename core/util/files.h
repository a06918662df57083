// File helpers shared by every writer: all output goes through writeFileAtomic, so a crash,
// a cancel or a full disk never leaves a half-written file under the final name.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tl {

// Writes `content` to a temporary file beside `path`, then renames it over `path`.
// Throws tl::Error naming the path on failure (and removes the temporary).
void writeFileAtomic(const std::string& path, std::string_view content);

// Writes several files all-or-nothing: every content goes to a temporary first; only when all
// are written are they renamed into place (if any write fails, no target is touched).
void writeFilesAtomic(const std::vector<std::pair<std::string, std::string>>& files);

// Reads a whole file; throws tl::Error naming the path if it cannot be read.
std::string readFile(const std::string& path);

// Resolves `path` against `baseDir` when it is relative (and baseDir is not empty).
std::string resolvePath(const std::string& path, const std::string& baseDir);

// An output folder assembled under a hidden temporary name beside its target ('.<name>.tmp-XXXXXX')
// and renamed onto the target by commit() only when complete; destroyed (or discard()ed) before
// that, it removes the temporary tree, so a cancel, an error or an exception leaves nothing.
struct StagedFolderOptions {
    bool replaceNonEmpty = false;  // else an existing non-empty target is refused (an empty one is always replaced)
    std::string label;             // how messages name the target; default "'<target>'"
    std::string notEmptyHint;      // appended to the "not empty" message, e.g. " (use --force to replace it)"
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
