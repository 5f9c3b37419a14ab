#include "interop/json_input.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace clustertwin::interop {

std::string read_text(const std::string& path, std::string_view origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw core::InputError(core::format_diagnostic({path, 0, 0}, {}, fmt::format("cannot open file: {}", std::strerror(errno)),
                                                   fmt::format("check the path given as {}", origin)));
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

core::YamlDoc parse_json(const std::string& text, const std::string& file, std::string_view hint) {
  try {
    [[maybe_unused]] const auto checked = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 and points one past the offending character.
    core::SourcePos p{file, 1, 1};
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    size_t line_start = 0;
    for (size_t i = 0; i < at && i < text.size(); ++i) {
      if (text[i] == '\n') ++p.line, p.col = 1, line_start = i + 1;
      else ++p.col;
    }
    const std::string line = text.substr(line_start, text.find('\n', line_start) - line_start);
    std::string what = e.what();
    const auto colon = what.rfind(": ");
    throw core::InputError(core::format_diagnostic(
        p, line, fmt::format("not JSON ({})", colon == std::string::npos ? what : what.substr(colon + 2)), hint));
  }
  return core::YamlDoc::parse_any(text, file);
}

}  // namespace clustertwin::interop
