#include "run_cli.h"

#include <sys/wait.h>

#include <cstdio>

#include <fmt/format.h>

namespace clustertwin::cli_test {

Result run(const std::string& args, const std::string& env) {
  std::string cmd = fmt::format("{}{}{} {} 2>&1", env, env.empty() ? "" : " ", CLUSTERTWIN_BIN, args);
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool has(const Result& r, const std::string& text) { return r.output.find(text) != std::string::npos; }

}  // namespace clustertwin::cli_test
