// What the user sees when a command ends with an exception. Input errors and failed runs carry our
// own words; an exception from the standard library or a parsing library (map::at, stoi,
// bad_variant_access, a JSON type error) means a check is missing in clustertwin, so its text is
// replaced by an "internal error" that asks for a report with the command line.
#pragma once

#include <exception>
#include <string>

namespace clustertwin::cli {

struct Failure {
  int exit_code = 1;  // 2 bad input, 1 a run failed, 3 an internal error (a bug in clustertwin)
  std::string text;   // for stderr, without the final newline
};

Failure describe_failure(const std::exception& e, const std::string& command_line);

// The command as typed: argv joined by spaces, arguments holding spaces or quotes single-quoted.
std::string command_line(int argc, const char* const* argv);

}  // namespace clustertwin::cli
