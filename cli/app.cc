// The whole command line: every subcommand, and errors mapped to exit codes (0 success, 1 a run
// failed, 2 bad input: a file or a flag, 3 an internal error: a bug; cli/failure.h keeps library
// messages such as map::at from the user). A library function, so tests run it in-process.
#include <csignal>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/failure.h"

namespace clustertwin::cli {

int run_command_line(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"clustertwin: predict, run and compare distributed training on small clusters"};
  app.require_subcommand(1);
  add_pipeline_commands(app);
  add_worker_command(app);
  add_presets_command(app);
  add_topology_commands(app);
  add_workload_commands(app);
  add_exec_commands(app);
  add_calibration_commands(app);
  add_interop_commands(app);
  add_validate_command(app);
  add_plan_command(app);
  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    Failure f = describe_failure(e, command_line(argc, argv));
    fmt::print(stderr, "{}\n", f.text);
    return f.exit_code;
  }
  return 0;
}

}  // namespace clustertwin::cli
