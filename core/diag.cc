#include "core/diag.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/text.h"

namespace clustertwin::core {

namespace {
// What a diagnostic shows of a text at most (a value quoted in the message, a source line on each side
// of the caret): a 100,000-character line or value is one screen, not 400 KB of terminal output.
constexpr size_t kMessageBytes = 2000;
constexpr size_t kContextBytes = 100;

// The byte at or before `i` that starts a UTF-8 character.
size_t char_start(std::string_view s, size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return std::min(i, s.size());
}

std::string clipped(std::string_view text) {
  if (text.size() <= kMessageBytes) return printable(text, true);
  return printable(text.substr(0, char_start(text, kMessageBytes)), true) + "...";
}

// The source line and its caret under byte column `col` (1-based), escaped, and cut to a window
// around the caret when the line is long.
std::string quoted_line(std::string_view line, int col) {
  size_t at = std::min<size_t>(std::max(col - 1, 0), line.size());
  size_t begin = at > kContextBytes ? char_start(line, at - kContextBytes) : 0;
  size_t end = line.size() - at > kContextBytes ? char_start(line, at + kContextBytes) : line.size();
  std::string before = (begin > 0 ? "..." : "") + printable(line.substr(begin, at - begin));
  std::string shown = before + printable(line.substr(at, end - at)) + (end < line.size() ? "..." : "");
  return fmt::format("\n  {}\n  {}^", shown, std::string(display_width(before), ' '));
}
}  // namespace

std::string format_diagnostic(const SourcePos& pos, std::string_view source_line,
                              std::string_view message, std::string_view hint) {
  std::string out = clipped(pos.file);
  if (pos.line > 0) out += fmt::format(":{}:{}", pos.line, pos.col);
  out += fmt::format(": error: {}", clipped(message));
  if (pos.line > 0 && !source_line.empty()) out += quoted_line(source_line, pos.col);
  if (!hint.empty()) out += fmt::format("\nhint: {}", clipped(hint));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // A typo changes a few characters; beyond a third of the word it is another word.
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string{};
}

std::string suggest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string near = closest_name(word, candidates);
  if (!near.empty()) return fmt::format("did you mean '{}'?", near);
  std::string list;
  for (const auto& c : candidates) list += fmt::format("{}'{}'", list.empty() ? "" : ", ", c);
  return fmt::format("expected one of: {}", list);
}

}  // namespace clustertwin::core
