#include "cli/failure.h"

#include <functional>
#include <optional>
#include <stdexcept>
#include <typeinfo>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/exceptions.h>

#include "core/diag.h"

namespace clustertwin::cli {

namespace {
template <typename T>
bool is(const std::exception& e) {
  return dynamic_cast<const T*>(&e) != nullptr;
}

// Whether `e` was thrown by a library on a path clustertwin should have checked first. Our own
// std::invalid_argument messages are sentences; the standard library's name a function ("stoi").
bool internal(const std::exception& e) {
  if (is<std::invalid_argument>(e)) return std::string(e.what()).find(' ') == std::string::npos;
  return is<std::logic_error>(e)  // out_of_range (map::at, vector::_M_range_check, basic_string), length_error
         || is<std::bad_variant_access>(e) || is<std::bad_optional_access>(e) || is<std::bad_cast>(e) ||
         is<std::bad_function_call>(e) || is<nlohmann::json::exception>(e) || is<YAML::Exception>(e) ||
         is<fmt::format_error>(e);
}
}  // namespace

Failure describe_failure(const std::exception& e, const std::string& command_line) {
  if (is<core::InputError>(e)) return {2, e.what()};
  if (is<std::bad_alloc>(e)) return {1, "clustertwin: error: out of memory"};
  if (!internal(e)) return {1, fmt::format("clustertwin: error: {}", e.what())};
  return {3, fmt::format("clustertwin: internal error: `{}` stopped on a case clustertwin does not check yet.\n"
                         "hint: this is a bug in clustertwin, not in your input: please report it with this command line "
                         "and the files it names",
                         command_line)};
}

std::string command_line(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a.find_first_of(" \t'\"") != std::string::npos) {
      std::string quoted = "'";
      for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      a = quoted + "'";
    }
    out += (i ? " " : "") + a;
  }
  return out;
}

}  // namespace clustertwin::cli
