// A stand-in for `clustertwin worker` so exec::run can be tested before and apart
// from cli/: `exec_test_worker worker --listen ADDR:PORT [--token TOKEN] [--token-stdin]`, the
// token defaulting to CLUSTERTWIN_TOKEN as local launches pass it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "exec/executor.h"
#include "exec/spawn.h"

int main(int argc, char** argv) {
  clustertwin::exec::WorkerOptions o;
  if (const char* t = std::getenv("CLUSTERTWIN_TOKEN")) o.token = t;
  try {
    for (int i = 2; i < argc; ++i) {
      std::string flag = argv[i];
      if (flag == "--listen" && i + 1 < argc) o.listen = argv[++i];
      if (flag == "--token" && i + 1 < argc) o.token = argv[++i];
      if (flag == "--token-stdin") {
        o.token = clustertwin::exec::read_token_line(STDIN_FILENO, 30);
        o.lifeline_fd = STDIN_FILENO;
      }
    }
    clustertwin::exec::run_worker(o);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exec_test_worker: %s\n", e.what());
    return 1;
  }
}
