// A YAML file loaded with its text kept, so every error can point at file:line:col with the
// source line under it. Modules read their inputs through this, never through bare yaml-cpp.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/diag.h"
#include "core/units.h"

namespace clustertwin::core {

class YamlDoc {
 public:
  // Loads `path` (at most kMaxYamlBytes, core/file.h); `origin` names where the path came from (a
  // flag, like "-t/--topology"), used when the file cannot be read. Throws InputError.
  static YamlDoc load(const std::string& path, std::string_view origin = {});
  // Parses text as if it came from `name` (embedded presets, tests). Besides YAML syntax, refuses
  // text that is not UTF-8 or holds control or bidirectional-override characters (core/text.h),
  // and a key given twice in one mapping, naming both lines.
  static YamlDoc parse(std::string text, std::string name);
  // Any top level (a list too): JSON other tools write, read through YAML for its positions.
  static YamlDoc parse_any(std::string text, std::string name);

  const YAML::Node& root() const { return root_; }
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }  // the file as read
  const std::vector<std::string>& lines() const { return lines_; }

  [[noreturn]] void fail(const YAML::Node& at, std::string_view message, std::string_view hint = {}) const;
  SourcePos pos(const YAML::Node& at) const;

  // Rejects keys not in `allowed` (with a did-you-mean), so a typo never silently does nothing.
  void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                  std::string_view what) const;
  void require_map(const YAML::Node& n, std::string_view what) const;
  void require_seq(const YAML::Node& n, std::string_view what) const;
  // The child `key` of `map`; fails naming the map's position when it is missing.
  YAML::Node required(const YAML::Node& map, std::string_view key, std::string_view what) const;

  std::string string(const YAML::Node& n, std::string_view what) const;
  double number(const YAML::Node& n, std::string_view what) const;
  long long integer(const YAML::Node& n, std::string_view what, long long min, long long max) const;
  bool boolean(const YAML::Node& n, std::string_view what) const;
  // A figure with its unit, within `range` (by default the quantity's physical_range).
  double quantity(const YAML::Node& n, Quantity q, std::string_view what) const;
  double quantity(const YAML::Node& n, Quantity q, std::string_view what, const Range& range) const;
  // One of `choices`, with a did-you-mean when it is not.
  std::string choice(const YAML::Node& n, const std::vector<std::string>& choices,
                     std::string_view what) const;

 private:
  void check_text(const std::string& text) const;
  void check_tree() const;
  std::string line_text(int line) const;  // 1-based; "" past the end

  std::string name_;
  std::string text_;
  std::vector<std::string> lines_;
  YAML::Node root_;
};

}  // namespace clustertwin::core
