#include "core/yaml_doc.h"

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include "core/file.h"
#include "core/text.h"

namespace clustertwin::core {

namespace {
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}
}  // namespace

YamlDoc YamlDoc::load(const std::string& path, std::string_view origin) {
  return parse(read_input_file(path, origin, kMaxYamlBytes), path);
}

// Raw text first: bytes that are not UTF-8, control characters and bidirectional overrides are
// refused wherever they stand (yaml-cpp would pass most of them into names, and from there into
// JSON, which refuses invalid UTF-8, and onto terminals).
void YamlDoc::check_text(const std::string& text) const {
  const auto fault = find_unsafe_text(text);
  if (!fault) return;
  const size_t line_start = text.rfind('\n', fault->offset == 0 ? 0 : fault->offset - 1);
  const size_t begin = line_start == std::string::npos || fault->offset == 0 ? 0 : line_start + 1;
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + begin, '\n'));
  const int col = 1 + static_cast<int>(fault->offset - begin);
  throw InputError(format_diagnostic({name_, line, col}, line_text(line), fmt::format("the file holds {}", fault->what),
                                     "save the file as UTF-8 text, and write names in printable characters"));
}

// What yaml-cpp accepts but a user never means: a key given twice in one mapping (yaml-cpp keeps the
// first and drops the second silently), or a quoted escape ("\0", "\u202e") that makes a value hold
// what check_text refuses in the raw file. Walks the tree without recursion: its depth is yaml-cpp's
// (at most 2000 levels), in document order, so the first fault in the file is the one reported.
void YamlDoc::check_tree() const {
  std::vector<YAML::Node> todo{root_};
  std::vector<YAML::Node> children;
  while (!todo.empty()) {
    YAML::Node n = todo.back();
    todo.pop_back();
    children.clear();
    if (n.IsScalar()) {
      if (auto fault = find_unsafe_text(n.Scalar()))
        fail(n, fmt::format("this value holds {}", fault->what), "write names and values in printable characters");
    } else if (n.IsSequence()) {
      for (const auto& item : n) children.push_back(item);
    } else if (n.IsMap()) {
      std::unordered_map<std::string, YAML::Node> seen;
      for (const auto& kv : n) {
        if (kv.first.IsScalar()) {
          auto [first, fresh] = seen.emplace(kv.first.Scalar(), kv.first);
          if (!fresh)
            fail(kv.first, fmt::format("duplicate key '{}': it is also at line {}", kv.first.Scalar(), pos(first->second).line),
                 "give every key once in a mapping; delete one of the two");
        }
        children.push_back(kv.first);
        children.push_back(kv.second);
      }
    }
    todo.insert(todo.end(), children.rbegin(), children.rend());
  }
}

std::string YamlDoc::line_text(int line) const {
  return line >= 1 && size_t(line) <= lines_.size() ? lines_[line - 1] : "";
}

YamlDoc YamlDoc::parse(std::string text, std::string name) {
  YamlDoc doc = parse_any(std::move(text), std::move(name));
  if (!doc.root_.IsMap()) {
    throw InputError(format_diagnostic({doc.name_, 1, 1}, doc.lines_.empty() ? "" : doc.lines_[0],
                                       "expected a YAML mapping (key: value lines) at the top level",
                                       "the file is 'key: value' lines, starting with 'name: ...'; see the examples"));
  }
  return doc;
}

YamlDoc YamlDoc::parse_any(std::string text, std::string name) {
  YamlDoc doc;
  doc.name_ = std::move(name);
  doc.lines_ = split_lines(text);
  doc.check_text(text);
  try {
    doc.root_ = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at 2000 levels of its own recursion (a few per level of nesting), marking where
    // its scanner stood: at worst past the last line, then the last line is the one to show.
    const int line = std::clamp(e.mark.line + 1, 1, std::max<int>(1, static_cast<int>(doc.lines_.size())));
    const int col = line == e.mark.line + 1 ? e.mark.column + 1 : 1;
    throw InputError(format_diagnostic({doc.name_, line, col}, doc.line_text(line), "invalid YAML: nested too deeply",
                                       "topologies and workloads nest a few levels; is this the file you meant?"));
  } catch (const YAML::ParserException& e) {
    SourcePos p{doc.name_, e.mark.line + 1, e.mark.column + 1};
    throw InputError(format_diagnostic(p, doc.line_text(e.mark.line + 1), fmt::format("invalid YAML: {}", e.msg),
                                       "check indentation, colons and quotes on this line"));
  }
  doc.check_tree();
  doc.text_ = std::move(text);
  return doc;
}

SourcePos YamlDoc::pos(const YAML::Node& at) const {
  const auto m = at.Mark();
  if (m.is_null()) return {name_, 1, 1};
  return {name_, m.line + 1, m.column + 1};
}

void YamlDoc::fail(const YAML::Node& at, std::string_view message, std::string_view hint) const {
  SourcePos p = pos(at);
  throw InputError(format_diagnostic(p, line_text(p.line), message, hint));
}

void YamlDoc::require_map(const YAML::Node& n, std::string_view what) const {
  if (!n.IsMap())
    fail(n, fmt::format("expected {} to be a mapping (key: value lines)", what),
         "write 'key: value' lines indented under it, or {key: value, ...}");
}

void YamlDoc::require_seq(const YAML::Node& n, std::string_view what) const {
  if (!n.IsSequence())
    fail(n, fmt::format("expected {} to be a list (lines starting with '- ')", what),
         "write one item per line starting with '- ', or [a, b, ...]");
}

void YamlDoc::check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                         std::string_view what) const {
  require_map(map, what);
  std::vector<std::string> names(allowed.begin(), allowed.end());
  for (const auto& kv : map) {
    std::string key = string(kv.first, "a key");
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) fail(kv.first, fmt::format("unknown key '{}' in {}", key, what), suggest(key, names));
  }
}

YAML::Node YamlDoc::required(const YAML::Node& map, std::string_view key, std::string_view what) const {
  YAML::Node n = map[std::string(key)];
  if (n) return n;
  std::string message = fmt::format("{} is missing the key '{}'", what, key);
  // A sibling spelt like the key is the key misspelt: a quarter of its letters at most, so that
  // 'note' beside a missing 'name' stays another key.
  const size_t limit = std::max<size_t>(1, key.size() / 4);
  if (map.IsMap())
    for (const auto& kv : map) {
      std::string sibling = kv.first.Scalar();
      if (edit_distance(sibling, key) <= limit)
        fail(kv.first, message, fmt::format("did you mean '{}' instead of '{}'?", key, sibling));
    }
  fail(map, message, fmt::format("add '{}: ...'", key));
}

std::string YamlDoc::string(const YAML::Node& n, std::string_view what) const {
  if (!n.IsScalar()) fail(n, fmt::format("expected {} to be a single value", what), "write one value here, not a list or a mapping");
  return n.Scalar();
}

double YamlDoc::number(const YAML::Node& n, std::string_view what) const {
  std::string s = string(n, what);
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  fail(n, fmt::format("expected {} to be a number, got '{}'", what, s), "write a plain number, like 0.5");
}

long long YamlDoc::integer(const YAML::Node& n, std::string_view what, long long min, long long max) const {
  std::string s = string(n, what);
  long long v = 0;
  try {
    size_t used = 0;
    v = std::stoll(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    fail(n, fmt::format("expected {} to be a whole number, got '{}'", what, s),
         fmt::format("write a whole number from {} to {}", min, max));
  }
  if (v < min || v > max)
    fail(n, fmt::format("expected {} between {} and {}, got {}", what, min, max, v),
         fmt::format("use a value from {} to {}", min, max));
  return v;
}

bool YamlDoc::boolean(const YAML::Node& n, std::string_view what) const {
  std::string s = string(n, what);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(n, fmt::format("expected {} to be true or false, got '{}'", what, s), "write true or false");
}

double YamlDoc::quantity(const YAML::Node& n, Quantity q, std::string_view what) const {
  return quantity(n, q, what, physical_range(q));
}

double YamlDoc::quantity(const YAML::Node& n, Quantity q, std::string_view what, const Range& range) const {
  std::string s = string(n, what);
  auto v = parse_quantity(s, q);
  if (!v)
    fail(n, fmt::format("expected {} to be {}, got '{}'", what, describe(q), s),
         "write the number and its unit together; units are case-sensitive (Gbps = gigabits, GB/s = gigabytes)");
  if (!(*v >= range.min && *v <= range.max))
    fail(n, fmt::format("expected {} between {} and {}, got '{}'", what, range.min_text, range.max_text, s),
         "a figure outside this range is a typo: check the exponent and the unit (Gbps = gigabits, GB/s = gigabytes)");
  return *v;
}

std::string YamlDoc::choice(const YAML::Node& n, const std::vector<std::string>& choices,
                            std::string_view what) const {
  std::string s = string(n, what);
  for (const auto& c : choices)
    if (c == s) return s;
  fail(n, fmt::format("unknown {} '{}'", what, s), suggest(s, choices));
}

}  // namespace clustertwin::core
