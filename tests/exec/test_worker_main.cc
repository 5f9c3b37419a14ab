// A stand-in for `clustertwin worker` so run_local can be tested before and apart from cli/:
// `exec_test_worker worker --listen ADDR:PORT [--token TOKEN]`, the token defaulting to
// CLUSTERTWIN_TOKEN as run_local passes it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "exec/executor.h"

int main(int argc, char** argv) {
  clustertwin::exec::WorkerOptions o;
  if (const char* t = std::getenv("CLUSTERTWIN_TOKEN")) o.token = t;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen") o.listen = argv[i + 1];
    if (flag == "--token") o.token = argv[i + 1];
  }
  try {
    clustertwin::exec::run_worker(o);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exec_test_worker: %s\n", e.what());
    return 1;
  }
}
