// What text from a user's file may hold, and how any text is shown on a terminal. Names travel into
// JSON (which needs valid UTF-8), terminal output and reports, so the inputs are refused at load when
// they hold something that would break or disguise them there: bytes that are not UTF-8, control
// characters, and the bidirectional overrides that reorder what a reader sees ("Trojan Source").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace clustertwin::core {

struct TextFault {
  size_t offset = 0;  // of the first offending byte
  std::string what;   // "invalid UTF-8 (byte 0xff)", "a control character (U+0000)", ...
};

// The first character a user's text must not hold: invalid UTF-8, a C0 control other than tab and
// the line ends (\n, \r), DEL, a C1 control, or a bidirectional embedding, override or isolate
// (U+202A..U+202E, U+2066..U+2069). nullopt when the text is clean.
std::optional<TextFault> find_unsafe_text(std::string_view text);

// `text` safe to print on one line: every character find_unsafe_text refuses, and the line ends, written
// as an escape (\x00, \xff, \u202e); `keep_newlines` leaves '\n' as it is. Clean one-line text comes
// back unchanged.
std::string printable(std::string_view text, bool keep_newlines = false);

// How many characters (UTF-8 code points) `text` shows as: where a caret under column N goes.
size_t display_width(std::string_view text);

}  // namespace clustertwin::core
