// clustertwin: predict (SimGrid), run (socket executor), compare; the one binary, kept thin.
// Exit codes: 0 success, 1 a run failed, 2 bad input (a file or a flag), 3 an internal error (a bug:
// cli/failure.h keeps library messages such as map::at from the user).
#include <csignal>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/failure.h"

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
  } catch (const std::exception& e) {
    ct::cli::Failure f = ct::cli::describe_failure(e, ct::cli::command_line(argc, argv));
    fmt::print(stderr, "{}\n", f.text);
    return f.exit_code;
  }
  return 0;
}
