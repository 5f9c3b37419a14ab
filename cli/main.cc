// clustertwin: predict (SimGrid), run (socket executor), compare; the one binary, kept thin.
// Exit codes: 0 success, 1 a run failed, 2 bad input (a file or a flag).
#include <csignal>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/app.h"
#include "core/diag.h"

namespace ct = clustertwin;

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"clustertwin: predict, run and compare distributed training on small clusters"};
  app.require_subcommand(1);
  ct::cli::add_pipeline_commands(app);
  ct::cli::add_worker_command(app);
  ct::cli::add_presets_command(app);
  ct::cli::add_topology_commands(app);
  ct::cli::add_workload_commands(app);
  ct::cli::add_exec_commands(app);
  ct::cli::add_validate_command(app);
  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const ct::core::InputError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "clustertwin: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
