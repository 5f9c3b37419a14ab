// Reading other tools' output files: the text of a file (an error naming the flag that gave it),
// and JSON read through YamlDoc so that every later error points at file:line:col.
#pragma once

#include <string>
#include <string_view>

#include "core/yaml_doc.h"

namespace clustertwin::interop {

// The whole file. Throws core::InputError naming the path, `origin` (the argument that gave it) and why.
std::string read_text(const std::string& path, std::string_view origin);

// Parses JSON (checked strictly: YAML would accept more), kept with its positions. A syntax error
// is a core::InputError at its line:col with `hint`.
core::YamlDoc parse_json(const std::string& text, const std::string& file, std::string_view hint);

}  // namespace clustertwin::interop
