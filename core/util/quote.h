// User text inside one-line error messages. Every tl::Error message that embeds text the user gave
// (a SPEC, a key, a value, a path, a CSV header or cell) embeds it through quoted(), so the message
// stays one printable line whatever bytes the text holds: newlines, CRs, terminal escape sequences
// and binary data come out as C-style escapes. Header-only (no source line in core/CMakeLists.txt).
// Call it as tl::quoted: with a std::string argument an unqualified call also finds std::quoted
// (argument-dependent lookup) and is ambiguous.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace tl {

namespace detail {

// Length of the valid, printable UTF-8 sequence starting at s[i] (2 to 4 bytes), or 0 when the
// bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF, truncated) or encode a code
// point a terminal may act on: C1 controls (U+0080..U+009F, e.g. CSI), line/paragraph separators
// (U+2028/9) and bidi overrides (U+202A..U+202E, U+2066..U+2069). Those are escaped byte by byte.
inline std::size_t printableUtf8Length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    std::size_t len;
    char32_t cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;  // overlong / too big
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                                // surrogates
    if (cp <= 0x9F) return 0;                                                                  // C1 controls
    if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return 0;
    return len;
}

// Appends s escaped; `quotes` also escapes '\'' and '\\'. Stops before exceeding maxLen output
// bytes (0: no limit) and returns false when it had to stop.
inline bool appendEscaped(std::string& out, std::string_view s, std::size_t maxLen, bool quotes) {
    static const char* hex = "0123456789abcdef";
    const std::size_t start = out.size();
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        char esc[5] = {};
        std::string_view piece;
        std::size_t step = 1;
        if (c == '\n') piece = "\\n";
        else if (c == '\r') piece = "\\r";
        else if (c == '\t') piece = "\\t";
        else if (quotes && c == '\\') piece = "\\\\";
        else if (quotes && c == '\'') piece = "\\'";
        else if (c >= 0x20 && c < 0x7F) piece = s.substr(i, 1);
        else if (c >= 0x80 && (step = printableUtf8Length(s, i)) > 0) piece = s.substr(i, step);
        else {
            step = 1;
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15];
            piece = std::string_view(esc, 4);
        }
        if (maxLen && out.size() - start + piece.size() > maxLen) return false;
        out += piece;
        i += step;
    }
    return true;
}

}  // namespace detail

// `text` in single quotes with C-style escapes: \n \r \t \\ \' and \xNN for every other control
// byte (ESC is \x1b), DEL and byte of invalid UTF-8; valid, printable UTF-8 is kept as is. At most
// maxLen bytes go between the quotes (0: no limit); longer text is cut at a character boundary and
// marked with "…" after the closing quote: quoted("a\nb") is 'a\nb' (6 bytes), quoted("abcdef", 3) is 'abc'….
inline std::string quoted(std::string_view text, std::size_t maxLen = 80) {
    std::string out(1, '\'');
    const bool whole = detail::appendEscaped(out, text, maxLen, true);
    out += '\'';
    if (!whole) out += "…";
    return out;
}

// Paths are quoted with a longer cap than the default.
constexpr std::size_t kQuotedPathLength = 240;
inline std::string quotedPath(std::string_view path) { return quoted(path, kQuotedPathLength); }

// The last guard before a message reaches a terminal: control bytes and invalid UTF-8 escaped as
// in quoted() (no quotes added, '\\' and '\'' kept), cut to maxLen bytes with "…". The result is
// always exactly one printable line.
inline std::string oneLine(std::string_view message, std::size_t maxLen = 4000) {
    std::string out;
    if (!detail::appendEscaped(out, message, maxLen, false)) out += "…";
    return out;
}

}  // namespace tl
