// The flags `run` and `bench` share: how workers start (--local, --attach, --emulated, ssh) and the
// run's settings (timeouts, compute). Parsed once into exec::Launch and exec::RunSettings, which
// travel unchanged from here to the workers' data planes.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "exec/executor.h"

namespace clustertwin::cli {

struct LaunchFlags {
  int local = 0;                    // --local N; 0: the topology's nodes
  std::vector<std::string> attach;  // --attach HOST:PORT,... (token from CLUSTERTWIN_TOKEN)
  bool emulated = false;            // in the namespaces of `emulate up` (prefix below, or the default)
  std::string prefix;
  exec::launch::Ssh ssh;            // --ssh-command, --remote-binary, --worker-port
};

struct LaunchFlagOptions {
  bool attach = true;       // --attach and --worker-port (run; bench starts its own workers)
  CLI::Option* topology;    // -t: --emulated and the ssh flags need it (bench), or null (run: required)
};
// Adds --local, --attach, --emulated, --prefix, --ssh-command, --remote-binary, --worker-port.
void add_launch_flags(CLI::App* cmd, LaunchFlags& f, const LaunchFlagOptions& o);
// Adds --op-timeout, --connect-timeout, --launch-timeout, --corrupt-rank (hidden) and, when
// `compute`, --compute.
void add_settings_flags(CLI::App* cmd, exec::RunSettings& s, bool compute);

// The launch the flags ask for; `topology` names the emulation's default prefix. Reads the run
// token for --attach from CLUSTERTWIN_TOKEN (empty when unset: exec::check_launch refuses it).
exec::Launch to_launch(const LaunchFlags& f, const topo::Topology& topology, const std::string& self_exe);

}  // namespace clustertwin::cli
