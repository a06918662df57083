#include "util/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

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

// Writes content to a fresh temporary beside `path`; returns the temporary's name.
std::string writeTemporary(const std::string& path, std::string_view content) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string tmpl = (dir / hiddenName(target, ".tmp-XXXXXX")).string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) throw Error("cannot write '" + path + "': " + std::strerror(errno));
    std::size_t off = 0;
    while (off < content.size()) {
        const ssize_t w = ::write(fd, content.data() + off, content.size() - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmpl.c_str());
            throw Error("cannot write '" + path + "': " + why);
        }
        off += static_cast<std::size_t>(w);
    }
    if (::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmpl.c_str());
        throw Error("cannot write '" + path + "': " + why);
    }
    ::chmod(tmpl.c_str(), 0644);
    return tmpl;
}

void commit(const std::string& tmp, const std::string& path) {
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw Error("cannot write '" + path + "': " + why);
    }
}

}  // namespace

void writeFileAtomic(const std::string& path, std::string_view content) { commit(writeTemporary(path, content), path); }

void writeFilesAtomic(const std::vector<std::pair<std::string, std::string>>& files) {
    std::vector<std::string> temps;
    try {
        for (const auto& [path, content] : files) temps.push_back(writeTemporary(path, content));
    } catch (...) {
        for (const auto& t : temps) ::unlink(t.c_str());
        throw;
    }
    for (std::size_t k = 0; k < files.size(); ++k) commit(temps[k], files[k].first);
}

StagedFolder::StagedFolder(const std::string& target, const StagedFolderOptions& options) : name_(target) {
    namespace fs = std::filesystem;
    const std::string label = options.label.empty() ? "'" + target + "'" : options.label;
    std::error_code ec;
    target_ = fs::absolute(target, ec).lexically_normal();
    if (ec) throw Error("cannot write '" + target + "': " + ec.message());
    if (!target_.has_filename()) target_ = target_.parent_path();  // "out/" names the folder "out"
    const bool exists = fs::exists(target_, ec);
    if (exists && !fs::is_directory(target_, ec)) throw Error(label + " exists and is not a folder");
    if (exists && !fs::is_empty(target_, ec) && !options.replaceNonEmpty)
        throw Error(label + " exists and is not empty" + options.notEmptyHint);
    const fs::path parent = target_.parent_path();
    if (!fs::is_directory(parent, ec)) throw Error("cannot write '" + target + "': folder '" + parent.string() + "' does not exist");
    std::string tmpl = (parent / hiddenName(target_, ".tmp-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw Error("cannot create a temporary folder beside '" + target + "': " + std::strerror(errno));
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
    if (tmp_.empty()) throw Error("cannot write '" + name_ + "': the output was discarded");
    std::error_code ec;
    if (fs::exists(target_, ec)) {
        // rename(2) cannot replace a non-empty folder: move the old one aside, then drop it.
        const fs::path old = target_.parent_path() / hiddenName(target_, ".old");
        fs::remove_all(old, ec);
        fs::rename(target_, old, ec);
        if (ec) {
            const std::string why = ec.message();
            discard();
            throw Error("cannot replace '" + name_ + "': " + why);
        }
        fs::rename(tmp_, target_, ec);
        if (ec) {
            fs::rename(old, target_, ec);
            discard();
            throw Error("cannot write '" + name_ + "'");
        }
        fs::remove_all(old, ec);
    } else {
        fs::rename(tmp_, target_, ec);
        if (ec) {
            const std::string why = ec.message();
            discard();
            throw Error("cannot write '" + name_ + "': " + why);
        }
    }
    committed_ = true;
}

std::string readFile(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error("cannot read '" + path + "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read '" + path + "': " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error("cannot read '" + path + "'");
    return ss.str();
}

std::string resolvePath(const std::string& path, const std::string& baseDir) {
    std::filesystem::path p(path);
    if (p.is_absolute() || baseDir.empty()) return path;
    return (std::filesystem::path(baseDir) / p).lexically_normal().string();
}

}  // namespace tl
