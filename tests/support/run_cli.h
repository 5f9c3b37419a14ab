// Runs the clustertwin binary as a user does, for the tests of its commands.
#pragma once

#include <string>

namespace clustertwin::cli_test {

struct Result {
  int code = -1;       // exit code; -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `env clustertwin args` through the shell (so args may quote, redirect, use ~); `env` is
// prepended as written ("CLUSTERTWIN_SSH=... ").
Result run(const std::string& args, const std::string& env = "");

// Whether the output contains `text`.
bool has(const Result& r, const std::string& text);

#ifdef CLUSTERTWIN_SOURCE_DIR
// A path in the source tree (examples, fixtures), for test targets that define CLUSTERTWIN_SOURCE_DIR.
inline std::string src(const std::string& rel) { return std::string(CLUSTERTWIN_SOURCE_DIR) + "/" + rel; }
// A file of tests/e2e/fixtures.
inline std::string fixture(const std::string& name) { return src("tests/e2e/fixtures/" + name); }
#endif

}  // namespace clustertwin::cli_test
