#include "core/yaml_doc.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string why = std::strerror(errno);
    std::string hint = origin.empty() ? "check the path" : fmt::format("check the path given to {}", origin);
    throw InputError(format_diagnostic({path, 0, 0}, {}, fmt::format("cannot open file: {}", why), hint));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse(buf.str(), path);
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
  try {
    doc.root_ = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    SourcePos p{doc.name_, e.mark.line + 1, e.mark.column + 1};
    std::string line = e.mark.line >= 0 && size_t(e.mark.line) < doc.lines_.size() ? doc.lines_[e.mark.line] : "";
    throw InputError(format_diagnostic(p, line, fmt::format("invalid YAML: {}", e.msg),
                                       "check indentation, colons and quotes on this line"));
  }
  return doc;
}

SourcePos YamlDoc::pos(const YAML::Node& at) const {
  const auto m = at.Mark();
  if (m.is_null()) return {name_, 1, 1};
  return {name_, m.line + 1, m.column + 1};
}

void YamlDoc::fail(const YAML::Node& at, std::string_view message, std::string_view hint) const {
  SourcePos p = pos(at);
  std::string line = p.line >= 1 && size_t(p.line) <= lines_.size() ? lines_[p.line - 1] : "";
  throw InputError(format_diagnostic(p, line, message, hint));
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
  std::string s = string(n, what);
  if (auto v = parse_quantity(s, q)) return *v;
  fail(n, fmt::format("expected {} to be {}, got '{}'", what, describe(q), s),
       "write the number and its unit together; units are case-sensitive (Gbps = gigabits, GB/s = gigabytes)");
}

std::string YamlDoc::choice(const YAML::Node& n, const std::vector<std::string>& choices,
                            std::string_view what) const {
  std::string s = string(n, what);
  for (const auto& c : choices)
    if (c == s) return s;
  fail(n, fmt::format("unknown {} '{}'", what, s), suggest(s, choices));
}

}  // namespace clustertwin::core
