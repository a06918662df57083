#include "util/files.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/quote.h"

namespace tl {

namespace {

// ".<name><suffix>" for the last component of `target` (built by appending: GCC 12 warns, wrongly,
// about `"." + std::string` under -O2 -Wrestrict).
std::string hiddenName(const std::filesystem::path& target, const char* suffix) {
    std::string name(1, '.');
    name += target.filename().string();
    name += suffix;
    return name;
}

std::string why(int err) { return std::strerror(err); }

// "it is a folder" etc. for a file that is not a regular file; empty for a regular file.
std::string notRegular(mode_t mode) {
    if (S_ISREG(mode)) return {};
    if (S_ISDIR(mode)) return "it is a directory, not a regular file";
    if (S_ISFIFO(mode)) return "it is a FIFO (named pipe), not a regular file";
    if (S_ISSOCK(mode)) return "it is a socket, not a regular file";
    if (S_ISCHR(mode)) return "it is a character device, not a regular file";
    if (S_ISBLK(mode)) return "it is a block device, not a regular file";
    return "it is not a regular file";
}

// "1 GiB", "256 MiB" or "N bytes".
std::string bytesText(std::size_t bytes) {
    if (bytes >= kMiB && bytes % kMiB == 0) {
        const std::size_t mib = bytes / kMiB;
        return mib % 1024 == 0 ? std::to_string(mib / 1024) + " GiB" : std::to_string(mib) + " MiB";
    }
    return std::to_string(bytes) + " bytes";
}

void checkStat(const std::string& path, const struct stat& st, std::size_t maxBytes) {
    const std::string bad = notRegular(st.st_mode);
    if (!bad.empty()) throw Error("cannot read " + quotedPath(path) + ": " + bad);
    if (st.st_size > 0 && static_cast<unsigned long long>(st.st_size) > maxBytes)
        throw Error("cannot read " + quotedPath(path) + ": it has " + std::to_string(st.st_size) + " bytes, more than the " + bytesText(maxBytes) +
                    " limit for this kind of file");
}

std::string targetName(const std::string& path, const std::string& label) {
    return label.empty() ? quotedPath(path) : label + " " + quotedPath(path);
}

// Checks an output target: nothing there or a regular file, and its folder exists.
void checkTarget(const std::string& path, const std::string& label) {
    namespace fs = std::filesystem;
    if (path.empty()) throw Error((label.empty() ? std::string("output") : label) + ": empty file name");
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        const std::string bad = notRegular(st.st_mode);
        if (!bad.empty()) throw Error("cannot write " + targetName(path, label) + ": " + bad);
    } else if (errno != ENOENT) {
        throw Error("cannot write " + targetName(path, label) + ": " + why(errno));
    }
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw Error("cannot write " + targetName(path, label) + ": folder " + quotedPath(dir.string()) + " does not exist");
    if (!target.has_filename()) throw Error("cannot write " + targetName(path, label) + ": it names a folder, not a file");
}

// Whether two output paths name the same file (same canonical path, or hard links to one file).
bool sameFile(const std::string& a, const std::string& b) {
    namespace fs = std::filesystem;
    std::error_code ec1, ec2;
    const fs::path ca = fs::weakly_canonical(fs::absolute(a, ec1), ec1), cb = fs::weakly_canonical(fs::absolute(b, ec2), ec2);
    if (!ec1 && !ec2 && ca == cb) return true;
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// Writes content to a fresh temporary beside `path`; returns the temporary's name.
std::string writeTemporary(const std::string& path, std::string_view content, const std::string& label) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string tmpl = (dir / hiddenName(target, ".tmp-XXXXXX")).string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) throw Error("cannot write " + targetName(path, label) + ": " + why(errno));
    std::size_t off = 0;
    while (off < content.size()) {
        const ssize_t w = ::write(fd, content.data() + off, content.size() - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            const std::string reason = why(errno);
            ::close(fd);
            ::unlink(tmpl.c_str());
            throw Error("cannot write " + targetName(path, label) + ": " + reason);
        }
        off += static_cast<std::size_t>(w);
    }
    if (::close(fd) != 0) {
        const std::string reason = why(errno);
        ::unlink(tmpl.c_str());
        throw Error("cannot write " + targetName(path, label) + ": " + reason);
    }
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(tmpl.c_str(), 0666 & ~mask);  // mkstemp makes it private; the published file should not be
    return tmpl;
}

// A hard link to `path` under a fresh hidden name beside it (the previous file, kept for a rollback);
// empty if none could be made.
std::string linkBackup(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
    static const char* alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::string suffix = ".bak-";
        for (int k = 0; k < 8; ++k) suffix += alnum[rng() % 36];
        const std::string backup = (dir / hiddenName(target, suffix.c_str())).string();
        if (::link(path.c_str(), backup.c_str()) == 0) return backup;
        if (errno != EEXIST) return {};
    }
    return {};
}

}  // namespace

// ---- AtomicWriteSet --------------------------------------------------------------------

AtomicWriteSet::~AtomicWriteSet() {
    if (!committed_) rollback();
}

void AtomicWriteSet::check(const std::vector<std::pair<std::string, std::string>>& targets) {
    for (std::size_t k = 0; k < targets.size(); ++k) {
        checkTarget(targets[k].first, targets[k].second);
        for (std::size_t j = 0; j < k; ++j)
            if (sameFile(targets[j].first, targets[k].first))
                throw Error((targets[j].second.empty() ? std::string("two outputs") : targets[j].second + " and " + targets[k].second) +
                            " name the same file " + quotedPath(targets[k].first));
    }
}

void AtomicWriteSet::add(const std::string& path, std::string_view content, const std::string& label) {
    if (committed_) throw Error("cannot write " + targetName(path, label) + ": the set of outputs is already committed");
    checkTarget(path, label);
    for (const auto& e : entries_)
        if (sameFile(e.path, path))
            throw Error((e.label.empty() ? std::string("two outputs") : e.label + " and " + label) + " name the same file " + quotedPath(path));
    Entry e;
    e.path = path;
    e.label = label;
    e.tmp = writeTemporary(path, content, label);
    entries_.push_back(std::move(e));
}

void AtomicWriteSet::commit() {
    if (committed_) return;
    for (auto& e : entries_) {
        struct stat st;
        bool aside = false;  // the previous file was moved to e.backup (no hard link possible)
        // rollback() clears entries_ (and `e`): the message is made first.
        const std::string failed = "cannot write " + targetName(e.path, e.label) + ": ";
        const std::string nothing = entries_.size() > 1 ? " (no output was written)" : "";
        if (::stat(e.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {  // became a folder etc. since add()
            const std::string bad = notRegular(st.st_mode);
            rollback();
            throw Error(failed + bad + nothing);
        }
        if (::lstat(e.path.c_str(), &st) == 0) {
            e.backup = linkBackup(e.path);
            if (e.backup.empty()) {
                // No hard links here: move the previous file aside instead (it is missing for a moment).
                std::string tmpl = e.tmp + ".bak";
                if (std::rename(e.path.c_str(), tmpl.c_str()) == 0) {
                    e.backup = tmpl;
                    aside = true;
                }
            }
        }
        if (std::rename(e.tmp.c_str(), e.path.c_str()) != 0) {
            const std::string reason = why(errno);
            if (aside) std::rename(e.backup.c_str(), e.path.c_str()), e.backup.clear();
            rollback();
            throw Error(failed + reason + nothing);
        }
        e.renamed = true;
        e.tmp.clear();
    }
    committed_ = true;
    for (auto& e : entries_)
        if (!e.backup.empty()) ::unlink(e.backup.c_str()), e.backup.clear();
}

void AtomicWriteSet::rollback() noexcept {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
        Entry& e = *it;
        if (e.renamed) {
            if (!e.backup.empty()) {
                if (std::rename(e.backup.c_str(), e.path.c_str()) == 0) e.backup.clear();
            } else {
                ::unlink(e.path.c_str());  // it did not exist before
            }
            e.renamed = false;
        }
        if (!e.tmp.empty()) ::unlink(e.tmp.c_str()), e.tmp.clear();
        if (!e.backup.empty()) ::unlink(e.backup.c_str()), e.backup.clear();
    }
    entries_.clear();
}

void writeFileAtomic(const std::string& path, std::string_view content) {
    AtomicWriteSet set;
    set.add(path, content);
    set.commit();
}

void writeFilesAtomic(const std::vector<std::pair<std::string, std::string>>& files) {
    AtomicWriteSet set;
    for (const auto& [path, content] : files) set.add(path, content);
    set.commit();
}

// ---- reading ---------------------------------------------------------------------------

void checkRegularFile(const std::string& path, std::size_t maxBytes) {
    struct stat st;
    if (path.empty()) throw Error("cannot read '': empty file name");
    if (::stat(path.c_str(), &st) != 0) throw Error("cannot read " + quotedPath(path) + ": " + why(errno));
    checkStat(path, st, maxBytes);
}

std::string readFile(const std::string& path, std::size_t maxBytes) {
    checkRegularFile(path, maxBytes);  // before open(): a FIFO would block, /dev/zero never ends
    // O_NONBLOCK: should the path have become a FIFO since the check, open() does not wait for a writer.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw Error("cannot read " + quotedPath(path) + ": " + why(errno));
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};
    struct stat st;
    if (::fstat(fd, &st) != 0) throw Error("cannot read " + quotedPath(path) + ": " + why(errno));
    checkStat(path, st, maxBytes);  // what was opened, not what was checked
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    std::string data;
    if (st.st_size > 0) data.reserve(static_cast<std::size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        const ssize_t r = ::read(fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw Error("cannot read " + quotedPath(path) + ": " + why(errno));
        }
        if (r == 0) break;
        if (data.size() + static_cast<std::size_t>(r) > maxBytes)  // a file that grows (or a /proc file)
            throw Error("cannot read " + quotedPath(path) + ": it has more than the " + bytesText(maxBytes) + " limit for this kind of file");
        data.append(buf, static_cast<std::size_t>(r));
    }
    return data;
}

namespace {

// Whether `inner` is `outer` or lies below it (both absolute, symbolic links resolved, no trailing '/').
bool isSameOrBelow(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto o = outer.begin(), i = inner.begin();
    for (; o != outer.end(); ++o, ++i)
        if (i == inner.end() || *i != *o) return false;
    return true;
}

std::filesystem::path resolved(const std::filesystem::path& p) {
    std::error_code ec;
    std::filesystem::path r = std::filesystem::weakly_canonical(p, ec);
    if (ec) r = std::filesystem::absolute(p, ec).lexically_normal();
    if (!r.has_filename() && r.has_relative_path()) r = r.parent_path();  // no trailing '/'
    return r;
}

// Refuses (tl::Error naming the folder) to replace the root folder, $HOME or a folder above it, the
// current folder or a folder above it, or a protected folder or a folder above it.
void refuseProtected(const std::filesystem::path& target, const std::string& label,
                     const std::vector<std::pair<std::filesystem::path, std::string>>& protect) {
    namespace fs = std::filesystem;
    const fs::path t = resolved(target);
    const std::string refuse = ": refusing to replace it";
    if (t == t.root_path()) throw Error(label + " is the root folder" + refuse);
    const char* home = std::getenv("HOME");
    if (home && *home && fs::path(home).is_absolute()) {
        const fs::path h = resolved(home);
        if (t == h) throw Error(label + " is the home folder ($HOME)" + refuse);
        if (isSameOrBelow(h, t)) throw Error(label + " holds the home folder " + quotedPath(h.string()) + " ($HOME)" + refuse);
    }
    std::error_code ec;
    const fs::path cwd = fs::current_path(ec);
    if (!ec) {
        const fs::path c = resolved(cwd);
        if (t == c) throw Error(label + " is the current folder" + refuse);
        if (isSameOrBelow(c, t)) throw Error(label + " holds the current folder " + quotedPath(c.string()) + refuse);
    }
    for (const auto& [folder, what] : protect) {
        const fs::path p = resolved(folder);
        if (t == p) throw Error(label + " is " + what + refuse);
        if (isSameOrBelow(p, t)) throw Error(label + " holds " + what + refuse);
    }
}

}  // namespace

StagedFolder::StagedFolder(const std::string& target, const StagedFolderOptions& options) : name_(target) {
    namespace fs = std::filesystem;
    const std::string label = options.label.empty() ? quotedPath(target) : options.label;
    std::error_code ec;
    target_ = fs::absolute(target, ec).lexically_normal();
    if (ec) throw Error("cannot write " + quotedPath(target) + ": " + ec.message());
    if (!target_.has_filename()) target_ = target_.parent_path();  // "out/" names the folder "out"
    const bool exists = fs::exists(target_, ec);
    if (exists && !fs::is_directory(target_, ec)) throw Error(label + " exists and is not a folder");
    if (exists) {
        refuseProtected(target_, label, options.protect);
        const bool empty = fs::is_empty(target_, ec);
        if (ec) throw Error("cannot read " + label + ": " + ec.message());
        if (!empty && options.isOwnOutput && !options.isOwnOutput(target_))
            throw Error(label + " is not empty" + options.notOwnHint);
        if (!empty && !options.replaceNonEmpty) throw Error(label + " exists and is not empty" + options.notEmptyHint);
    }
    const fs::path parent = target_.parent_path();
    if (!fs::is_directory(parent, ec)) throw Error("cannot write " + quotedPath(target) + ": folder " + quotedPath(parent.string()) + " does not exist");
    std::string tmpl = (parent / hiddenName(target_, ".tmp-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw Error("cannot create a temporary folder beside " + quotedPath(target) + ": " + why(errno));
    tmp_ = tmpl;
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(tmpl.c_str(), 0777 & ~mask);  // mkdtemp makes it private; the published folder should not be
}

StagedFolder::~StagedFolder() { discard(); }

void StagedFolder::discard() {
    if (committed_ || tmp_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
    tmp_.clear();
}

void StagedFolder::commit() {
    namespace fs = std::filesystem;
    if (committed_) return;
    if (tmp_.empty()) throw Error("cannot write " + quotedPath(name_) + ": the output was discarded");
    std::error_code ec;
    if (fs::exists(target_, ec)) {
        // rename(2) cannot replace a non-empty folder: move the old one aside, then drop it.
        const fs::path old = target_.parent_path() / hiddenName(target_, ".old");
        fs::remove_all(old, ec);
        fs::rename(target_, old, ec);
        if (ec) {
            const std::string reason = ec.message();
            discard();
            throw Error("cannot replace " + quotedPath(name_) + ": " + reason);
        }
        fs::rename(tmp_, target_, ec);
        if (ec) {
            fs::rename(old, target_, ec);
            discard();
            throw Error("cannot write " + quotedPath(name_));
        }
        fs::remove_all(old, ec);
    } else {
        fs::rename(tmp_, target_, ec);
        if (ec) {
            const std::string reason = ec.message();
            discard();
            throw Error("cannot write " + quotedPath(name_) + ": " + reason);
        }
    }
    committed_ = true;
}

std::string resolvePath(const std::string& path, const std::string& baseDir) {
    std::filesystem::path p(path);
    if (p.is_absolute() || baseDir.empty()) return path;
    return (std::filesystem::path(baseDir) / p).lexically_normal().string();
}

}  // namespace tl
