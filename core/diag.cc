#include "core/diag.h"

#include <algorithm>

#include <fmt/format.h>

namespace clustertwin::core {

std::string format_diagnostic(const SourcePos& pos, std::string_view source_line,
                              std::string_view message, std::string_view hint) {
  std::string out = pos.file;
  if (pos.line > 0) out += fmt::format(":{}:{}", pos.line, pos.col);
  out += fmt::format(": error: {}", message);
  if (pos.line > 0 && !source_line.empty()) {
    out += fmt::format("\n  {}\n  {}^", source_line, std::string(std::max(pos.col - 1, 0), ' '));
  }
  if (!hint.empty()) out += fmt::format("\nhint: {}", hint);
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
