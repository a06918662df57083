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

// Writes content to a fresh temporary beside `path`; returns the temporary's name.
std::string writeTemporary(const std::string& path, std::string_view content) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
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
