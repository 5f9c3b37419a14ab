#include "core/text.h"

#include <fmt/format.h>

namespace clustertwin::core {

namespace {

// One decoded character: its code point and length in bytes; length 0 when the bytes at `i` are not
// a well-formed UTF-8 sequence (overlong forms, surrogates and values past U+10FFFF included).
struct Char {
  char32_t cp = 0;
  size_t len = 0;
};

Char decode(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return {c, 1};
  size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {};
  char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return {};
  return {cp, len};
}

bool bidi_control(char32_t cp) { return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069); }

bool unsafe(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || bidi_control(cp);
}

std::string describe(char32_t cp) {
  if (bidi_control(cp)) return fmt::format("a bidirectional-text control (U+{:04X})", static_cast<uint32_t>(cp));
  return fmt::format("a control character (U+{:04X})", static_cast<uint32_t>(cp));
}

}  // namespace

std::optional<TextFault> find_unsafe_text(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const Char c = decode(text, i);
    if (c.len == 0)
      return TextFault{i, fmt::format("invalid UTF-8 (byte 0x{:02x})", static_cast<unsigned char>(text[i]))};
    if (unsafe(c.cp)) return TextFault{i, describe(c.cp)};
    i += c.len;
  }
  return std::nullopt;
}

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const Char c = decode(text, i);
    if (c.len == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (c.cp == '\n' && keep_newlines) {
      out += '\n';
    } else if (c.cp == '\n' || c.cp == '\r' || unsafe(c.cp)) {
      out += c.cp < 0x80 ? fmt::format("\\x{:02x}", static_cast<uint32_t>(c.cp))
                         : fmt::format("\\u{:04x}", static_cast<uint32_t>(c.cp));
    } else {
      out.append(text.substr(i, c.len));
    }
    i += c.len;
  }
  return out;
}

size_t display_width(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace clustertwin::core
