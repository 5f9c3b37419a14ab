// `clustertwin import ...` and `export ...`: other tools' formats in and out (interop/): MLX
// hostfiles both ways, smolcluster's configs, and measured results of llama-bench, mlx_lm and exo as run directories.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "cli/app.h"
#include "core/diag.h"
#include "core/file.h"
#include "interop/measured.h"
#include "interop/mlx_hostfile.h"
#include "interop/smolcluster.h"
#include "cli/commands.h"
#include "topologies/check.h"
#include "topologies/topology.h"

namespace clustertwin::cli {

namespace {
// --device values: PRESET (every host not named) or HOST=PRESET.
void split_devices(const std::vector<std::string>& flags, std::string& every, std::map<std::string, std::string>& by_host) {
  for (const auto& d : flags) {
    const auto eq = d.find('=');
    if (eq == std::string::npos) every = d;
    else by_host[d.substr(0, eq)] = d.substr(eq + 1);
  }
}

struct HostfileImportArgs {
  std::string hostfile, out, name, over, ethernet = "eth-1g";
  std::vector<std::string> devices;  // PRESET or HOST=PRESET
};

interop::MlxImportOptions import_options(const HostfileImportArgs& a, const interop::MlxHostfile& h) {
  interop::MlxImportOptions o;
  o.name = a.name.empty() ? std::filesystem::path(a.hostfile).stem().string() : a.name;
  o.ethernet = a.ethernet;
  split_devices(a.devices, o.device, o.devices);
  if (a.over == "thunderbolt") o.over = interop::MlxImportOptions::Over::Thunderbolt;
  if (a.over == "ethernet") o.over = interop::MlxImportOptions::Over::Ethernet;
  // A person at a terminal is asked for what the hostfile does not say; a script gets the error.
  if (o.device.empty() && isatty(STDIN_FILENO))
    for (const auto& host : h.hosts) {
      if (o.devices.count(host.ssh)) continue;
      fmt::print(stderr, "device preset of '{}' (`clustertwin topology presets` lists them): ", host.ssh);
      std::string answer;
      if (!std::getline(std::cin, answer) || answer.empty()) break;
      o.devices[host.ssh] = answer;
    }
  return o;
}

void import_hostfile(const HostfileImportArgs& a) {
  const interop::MlxHostfile h = interop::load_mlx_hostfile(a.hostfile);
  const std::string yaml = interop::mlx_topology_yaml(h, import_options(a, h));
  const std::string out_name = a.out.empty() ? "<stdout>" : a.out;
  const topo::Topology t = topo::parse_topology(yaml, out_name);  // what we write must load
  if (a.out.empty()) fmt::print("{}", yaml);
  else core::write_file(a.out, yaml);
  size_t errors = 0;
  for (const auto& f : topo::check(t)) {
    fmt::print(stderr, "{}\n", topo::format_finding(t, f));
    errors += f.severity == topo::Severity::Error;
  }
  if (!a.out.empty())
    fmt::print("wrote {} ({} nodes, {} links){}\n", a.out, t.nodes.size(), t.links.size(),
               errors ? fmt::format("; `clustertwin check` finds {} error{} (above)", errors, errors == 1 ? "" : "s") : "");
}

struct HostfileExportArgs {
  std::string topology, out, backend = "jaccl";
};

void export_hostfile(const HostfileExportArgs& a) {
  const topo::Topology t = topo::load_topology(a.topology, "TOPO");
  auto x = interop::mlx_hostfile_json(t, a.backend == "ring" ? interop::MlxBackend::Ring : interop::MlxBackend::Jaccl);
  for (const auto& w : x.warnings) fmt::print(stderr, "warning: {}\n", w);
  if (a.out.empty()) {
    fmt::print("{}", x.json);
    return;
  }
  core::write_file(a.out, x.json);
  fmt::print("wrote {} (backend {}, {} hosts): mlx.launch --hostfile {} ...\n", a.out, a.backend, t.compute_nodes().size(),
             a.out);
}

struct MeasuredArgs {
  std::string file, out, format, topology, workload;
};

void import_measured(const MeasuredArgs& a) {
  interop::MeasuredImport m;
  m.format = a.format;
  m.topology = a.topology;
  m.workload = a.workload;
  const interop::MeasuredRun run = interop::load_measured(a.file, m);
  interop::write_measured_run(a.out, run);
  fmt::print("wrote {} ({} from {}): {}\n", a.out, run.tool, a.file, run.description);
}

struct SmolclusterArgs {
  std::string dir, out, algorithm, name;
  std::vector<std::string> devices;
  int steps = 5;
};

void import_smolcluster(const SmolclusterArgs& a) {
  interop::SmolclusterImport o;
  o.dir = a.dir;
  o.algorithm = a.algorithm;
  o.name = a.name;
  o.steps = a.steps;
  split_devices(a.devices, o.device, o.devices);
  const interop::SmolclusterFiles f = interop::import_smolcluster(o);
  std::filesystem::create_directories(a.out);
  const std::string topology = (std::filesystem::path(a.out) / "topology.yaml").string();
  const std::string workload = (std::filesystem::path(a.out) / "workload.yaml").string();
  core::write_file(topology, f.topology_yaml);
  core::write_file(workload, f.workload_yaml);
  const Loaded l = load(topology, workload);  // both must load and compile, as predict will
  size_t errors = 0;
  for (const auto& finding : topo::check(l.topology)) {
    fmt::print(stderr, "{}\n", topo::format_finding(l.topology, finding));
    errors += finding.severity == topo::Severity::Error;
  }
  fmt::print("wrote {} and {} (smolcluster {}: {} ranks){}\n  next: clustertwin predict -t {} -w {} -o OUT\n", topology,
             workload, f.algorithm, l.program.world(),
             errors ? fmt::format("; `clustertwin check` finds {} error{} (above)", errors, errors == 1 ? "" : "s") : "",
             topology, workload);
}

void add_import(CLI::App& app) {
  auto* imp = app.add_subcommand("import", "Read other tools' files: an MLX hostfile, smolcluster configs, measured results");
  imp->require_subcommand(1);
  auto h = std::make_shared<HostfileImportArgs>();
  auto* host = imp->add_subcommand("mlx-hostfile", "An MLX hostfile (mlx.launch / mlx.distributed_config) as a topology");
  host->add_option("HOSTFILE", h->hostfile, "The JSON hostfile")->required();
  host->add_option("-o,--out", h->out, "Write the topology YAML here (default: print it)");
  host->add_option("--device", h->devices,
                   "Device preset of every host (PRESET), or of one (SSH_ALIAS=PRESET); repeatable");
  host->add_option("--name", h->name, "Topology name (default: the hostfile's name)");
  host->add_option("--over", h->over, "What the ring form's ips are on (default: inferred, said in the YAML)")
      ->check(CLI::IsMember({"thunderbolt", "ethernet"}));
  host->add_option("--ethernet", h->ethernet, "Link type of the Ethernet form's cables (default eth-1g)");
  host->footer(
      "The JACCL form (an \"rdma\" matrix) gives one tb5-rdma link per cable it names; the ring form over Thunderbolt "
      "a tb4/tb5 link per /30; the Ethernet form a switch. What was inferred is written as comments, and `check` "
      "findings are printed (a host pair without an RDMA cable is T003).\nExample: clustertwin import mlx-hostfile "
      "m3-ultra-jaccl.json --device mac-studio-m3-ultra -o cluster.yaml");
  host->callback([h] { import_hostfile(*h); });

  auto sc = std::make_shared<SmolclusterArgs>();
  auto* smol = imp->add_subcommand("smolcluster", "smolcluster's configs (cluster_config_*.yaml, gpt_config.yaml) as a topology and a workload");
  smol->add_option("CONFIG_DIR", sc->dir, "smolcluster's configs folder (src/smolcluster/configs)")->required();
  smol->add_option("-o,--out", sc->out, "Folder to write topology.yaml and workload.yaml into")->required();
  smol->add_option("--algorithm", sc->algorithm,
                   "Which cluster_config_NAME.yaml: classicdp, fsdp, edp, syncps, mp_pipeline... (default: the only one)");
  smol->add_option("--device", sc->devices, "Device preset of every host (PRESET) or of one (HOST=PRESET); mini*, pi4*, pi5*, jetson* are inferred");
  smol->add_option("--name", sc->name, "Topology and workload name (default smolcluster-ALGORITHM)");
  smol->add_option("--steps", sc->steps, "Training steps to predict or run (default 5)")->check(CLI::Range(1, 100000));
  smol->footer("ClassicDP and FSDP (allToAllTopology) -> DDP / ZeRO stage fsdp_stage with direct all-reduce; EDP -> "
               "asynchronous parameter server (staleness: worker_update_interval, 8-bit pushes with use_quantization); SyncPS "
               "-> synchronous parameter server; pipelineTopology -> GPipe with num_microbatches. The model comes from "
               "gpt_config.yaml. Links are inferred from the addresses (said as comments). Formats: interop/README.md.");
  smol->callback([sc] { import_smolcluster(*sc); });

  auto m = std::make_shared<MeasuredArgs>();
  auto* meas = imp->add_subcommand("measured", "llama-bench, mlx_lm or exo results as a measured run directory");
  meas->add_option("FILE", m->file, "llama-bench -o json|csv, mlx_lm.generate's output (a text file), or exo's bench JSON")
      ->required();
  meas->add_option("-o,--out", m->out, "Run directory to write (summary.json), for compare and report")->required();
  meas->add_option("--format", m->format, "Say what FILE is instead of inferring it")
      ->check(CLI::IsMember({"llama-bench-json", "llama-bench-csv", "mlx-lm", "exo"}));
  meas->add_option("-t,--topology", m->topology, "Name of the topology it ran on (default: the tool's own words)");
  meas->add_option("-w,--workload", m->workload, "Name of the workload it ran (default: the model it names)");
  meas->footer(
      "The run has step-level figures only (no per-op trace): decode and prefill tokens/s, time to first token, step "
      "time (one decode step per token), peak memory where the tool gives it. Formats: interop/README.md.\nExample: "
      "llama-bench -m model.gguf -o json > lb.json; clustertwin import measured lb.json -o measured/; clustertwin "
      "compare predicted/ measured/ -o cmp/");
  meas->callback([m] { import_measured(*m); });
}

void add_export(CLI::App& app) {
  auto* exp = app.add_subcommand("export", "Write a topology in another tool's format");
  exp->require_subcommand(1);
  auto e = std::make_shared<HostfileExportArgs>();
  auto* host = exp->add_subcommand("mlx-hostfile", "The hostfile mlx.launch needs to run on a topology's nodes");
  host->add_option("TOPO", e->topology, "Topology YAML")->required();
  host->add_option("-o,--out", e->out, "Write the hostfile here (default: print it)");
  host->add_option("--backend", e->backend, "jaccl (RDMA over Thunderbolt 5, default) or ring (TCP)")
      ->check(CLI::IsMember({"ring", "jaccl"}));
  host->footer("Refused, with the reason, when the backend cannot run on the topology: JACCL needs a tb5-rdma cable "
               "between every pair of hosts; the ring needs an address per host and a path to each neighbour.");
  host->callback([e] { export_hostfile(*e); });
}
}  // namespace

void add_interop_commands(CLI::App& app) {
  add_import(app);
  add_export(app);
}

}  // namespace clustertwin::cli
