#include "cli/launch_flags.h"

#include <cstdlib>
#include <map>

#include "exec/emulate/emulation.h"

namespace clustertwin::cli {

void add_launch_flags(CLI::App* cmd, LaunchFlags& f, const LaunchFlagOptions& o) {
  auto* local = cmd->add_option("--local", f.local, "Run N worker processes on this machine over loopback")
                    ->check(CLI::Range(1, 64));
  auto* emulated = cmd->add_flag("--emulated", f.emulated, "Run the workers in the namespaces of `clustertwin emulate up`")
                       ->excludes(local);
  cmd->add_option("--prefix", f.prefix, "The emulation's namespace prefix (default ct-<topology name>-)")->needs(emulated);
  std::vector<CLI::Option*> remote{
      cmd->add_option("--ssh-command", f.ssh.command, "Command that starts workers on the nodes (default: ssh)"),
      cmd->add_option("--remote-binary", f.ssh.remote_binary, "clustertwin on the nodes (default: clustertwin in PATH)")};
  if (o.attach) {
    auto* attach = cmd->add_option("--attach", f.attach,
                                   "Workers started by hand (clustertwin worker), one HOST:PORT per rank in the "
                                   "topology's node order; the token comes from CLUSTERTWIN_TOKEN")
                       ->delimiter(',')
                       ->excludes(local);
    emulated->excludes(attach);
    remote.push_back(cmd->add_option("--worker-port", f.ssh.worker_port,
                                     "Port the workers started over ssh listen on (0: any free port)")
                         ->check(CLI::Range(0, 65535)));
  }
  for (auto* r : remote) r->excludes(local);
  if (o.topology) {
    emulated->needs(o.topology);
    for (auto* r : remote) r->needs(o.topology);
  }
}

void add_settings_flags(CLI::App* cmd, exec::RunSettings& s, bool compute) {
  cmd->add_option("--op-timeout", s.op_timeout_s, "Seconds without progress on an op before the run fails")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--connect-timeout", s.connect_timeout_s, "Seconds to reach a worker, and for workers to reach their peers")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--heartbeat-timeout", s.heartbeat_timeout_s,
                  "Seconds without a heartbeat from a running worker before it is reported hung")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--launch-timeout", s.launch_timeout_s,
                  "Seconds for a started worker to announce its port (ssh login included)")
      ->check(CLI::PositiveNumber);
  if (compute)
    cmd->add_option("--compute", s.compute, "real: CBLAS GEMMs of each op's shape; modelled: sleep for the modelled time")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, exec::ComputeMode>{{"real", exec::ComputeMode::Real}, {"modelled", exec::ComputeMode::Modelled}}));
  cmd->add_option("--corrupt-rank", s.corrupt_rank, "Testing aid: this rank corrupts its collective contributions")->group("");
}

exec::Launch to_launch(const LaunchFlags& f, const topo::Topology& topology, const std::string& self_exe) {
  if (f.local > 0) return exec::launch::Local{f.local, self_exe};
  if (!f.attach.empty()) {
    const char* token = std::getenv("CLUSTERTWIN_TOKEN");
    return exec::launch::Attach{f.attach, token ? token : ""};
  }
  if (f.emulated) return exec::launch::Emulated{f.prefix.empty() ? exec::emulate::default_prefix(topology) : f.prefix, self_exe};
  return f.ssh;
}

}  // namespace clustertwin::cli
