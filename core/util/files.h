// File helpers shared by every writer: all output goes through writeFileAtomic, so a crash,
// a cancel or a full disk never leaves a half-written file under the final name.
#pragma once
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

}  // namespace tl
