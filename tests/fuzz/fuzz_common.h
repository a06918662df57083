// Shared checks of the libFuzzer targets (tests/fuzz/fuzz_*.cpp; built by scripts/fuzz.sh with clang,
// -fsanitize=fuzzer,address,undefined). A target reports a defect by aborting (libFuzzer saves the
// input): any exception other than tl::Error, a tl::Error whose message is not one printable line
// (user text must go through tl::quoted, see util/quote.h), or a broken invariant of a result.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <exception>

#include "util/quote.h"

namespace tl::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "FUZZ DEFECT: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

inline void require(bool ok, const char* what, std::string_view detail = {}) {
    if (!ok) fail(what, detail);
}

// One printable line, as tl::oneLine leaves it unchanged: no control byte, no invalid UTF-8, no C1
// control or bidi override; non-empty.
inline bool isOneLine(std::string_view message) { return !message.empty() && tl::oneLine(message, 0) == message; }

// The message of a tl::Error: must be one printable line.
inline void checkMessage(const char* target, const std::exception& e) {
    if (!isOneLine(e.what())) fail(target, std::string("tl::Error message is not one printable line: ") + tl::oneLine(e.what(), 400));
}

}  // namespace tl::fuzz
