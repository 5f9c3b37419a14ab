// Diagnostics: user-facing input errors that name file:line:col, what was expected and a hint,
// formatted like a compiler (source line and caret). Thrown as InputError, caught once in cli/.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace clustertwin::core {

struct SourcePos {
  std::string file;
  int line = 0;  // 1-based; 0 = the whole file (e.g. it cannot be opened)
  int col = 0;   // 1-based
};

// An error in something the user wrote (a file or a flag). what() is the full, formatted text.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::string formatted) : std::runtime_error(std::move(formatted)) {}
};

// "file:line:col: error: message\n  source line\n  ^\nhint: ..." (source and hint optional).
std::string format_diagnostic(const SourcePos& pos, std::string_view source_line,
                              std::string_view message, std::string_view hint = {});

// Levenshtein distance: insertions, deletions and substitutions of single characters.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` by edit distance, if close enough to be a likely typo; else "".
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

// "did you mean 'x'?" or, when nothing is close, "expected one of: 'a', 'b', 'c'".
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace clustertwin::core
