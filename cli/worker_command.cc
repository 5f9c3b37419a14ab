// `clustertwin worker`: serve one run for a coordinator.
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "cli/app.h"
#include "core/diag.h"
#include "exec/executor.h"

namespace clustertwin::cli {

void add_worker_command(CLI::App& app) {
  auto wo = std::make_shared<exec::WorkerOptions>();
  auto* cmd = app.add_subcommand("worker", "Serve one run for a coordinator");
  cmd->add_option("--listen", wo->listen, "ADDR:PORT to listen on (port 0 picks a free one)");
  cmd->add_option("--token", wo->token, "Run token (default: $CLUSTERTWIN_TOKEN)");
  cmd->callback([wo] {
    if (wo->token.empty())
      if (const char* t = std::getenv("CLUSTERTWIN_TOKEN")) wo->token = t;
    if (wo->token.empty())
      throw core::InputError("--token: error: a worker needs the run token\nhint: pass --token or set CLUSTERTWIN_TOKEN");
    exec::run_worker(*wo);
  });
}

}  // namespace clustertwin::cli
