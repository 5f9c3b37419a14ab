// The executor's own subcommands: `bench` (collectives in the nccl-tests format), `probe` (links,
// forwarders and devices measured into a calibration overlay) and `emulate up|down` (the topology
// as network namespaces on this machine).
#include <cmath>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <algorithm>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/launch_flags.h"
#include "core/diag.h"
#include "core/file.h"
#include "exec/bench.h"
#include "exec/emulate/delay.h"
#include "exec/emulate/emulation.h"
#include "exec/handshake.h"
#include "exec/probe.h"
#include "sim/simulator.h"
#include "topologies/calibration.h"
#include "topologies/topology.h"
#include "workloads/collectives.h"

namespace clustertwin::cli {

namespace {
struct BenchArgs {
  std::string kind, min = "8", max = "64M", json;
  double factor = 2;
  int iters = 20, warmup = 5;
  std::string topology;  // -t: the topology's nodes, emulated or over ssh
  LaunchFlags launch;
  exec::RunSettings settings{.op_timeout_s = 30};
  bool predict = false;
  bool predict_only = false;  // --predict-only: the simulator alone, no workers
  double scale = 1;  // the emulation's --scale, for the prediction
  std::string algorithm = "ring", dtype = "fp32";
  std::string calibration;  // --calibration: the overlay the prediction applies
};

core::Algorithm algorithm_flag(const std::string& text) {
  for (auto a : {core::Algorithm::Ring, core::Algorithm::Tree, core::Algorithm::Direct, core::Algorithm::HalvingDoubling,
                 core::Algorithm::BidirectionalRing, core::Algorithm::OneShot})
    if (core::name(a) == text) return a;
  throw core::InputError(fmt::format(
      "--algorithm: error: expected ring, tree, direct, halving-doubling, bidirectional-ring or one-shot, got '{}'", text));
}

core::DType dtype_flag(const std::string& text) {
  for (auto d : {core::DType::F32, core::DType::BF16, core::DType::F16})
    if (core::name(d) == text) return d;
  throw core::InputError(fmt::format("--dtype: error: expected fp32, bf16 or fp16, got '{}'", text));
}

core::CollectiveKind collective_of(exec::BenchKind k) {
  switch (k) {
    case exec::BenchKind::AllGather: return core::CollectiveKind::AllGather;
    case exec::BenchKind::ReduceScatter: return core::CollectiveKind::ReduceScatter;
    default: return core::CollectiveKind::AllReduce;
  }
}

// How the bench starts its workers: --local N, or the topology's nodes (emulated or over ssh).
exec::BenchRunner bench_runner(const BenchArgs& a, exec::BenchOptions& o, std::string& launch) {
  std::shared_ptr<const topo::Topology> topology;
  if (a.launch.local > 0) {
    if (!a.topology.empty() && !a.predict)
      throw core::InputError("-t/--topology: error: with --local the ranks run on this machine; -t only names the "
                             "topology --predict simulates\nhint: add --predict, or drop --local to run on the "
                             "topology's nodes");
    o.ranks = a.launch.local;
  } else {
    if (a.topology.empty())
      throw core::InputError("--local: error: say where the ranks run\n"
                             "hint: --local N on this machine, or -t TOPOLOGY (with --emulated for its emulation)");
    topology = std::make_shared<const topo::Topology>(topo::load_topology(a.topology));
    o.ranks = static_cast<int>(topology->compute_nodes().size());
  }
  const exec::Launch how = to_launch(a.launch, topology ? *topology : topo::Topology{}, self_exe());
  launch = exec::launch_text(how, o.ranks);
  return exec::bench_runner(how, a.settings, topology);
}

uint64_t size_flag(const std::string& text, const char* flag) {
  auto v = exec::parse_size(text);
  if (!v || *v == 0)
    throw core::InputError(fmt::format("{}: error: expected a size in bytes like 8, 1K, 128M or 1G, got '{}'", flag, text));
  return *v;
}

void bench(const BenchArgs& a) {
  exec::BenchOptions o;
  o.kind = *exec::bench_kind(a.kind);  // CLI11 checked the name
  std::string launch;
  exec::BenchRunner runner;
  if (a.predict_only) {
    if (a.launch.local > 0 || a.launch.emulated)
      throw core::InputError("--predict-only: error: no worker runs with --predict-only\n"
                             "hint: drop --local/--emulated, or use --predict to run and predict side by side");
    o.ranks = static_cast<int>(topo::load_topology(a.topology, "-t/--topology", a.calibration).rank_nodes().size());
    launch = "predicted only, no workers";
  } else {
    runner = bench_runner(a, o, launch);
  }
  o.min_bytes = size_flag(a.min, "-b/--minbytes");
  o.max_bytes = size_flag(a.max, "-e/--maxbytes");
  if (o.min_bytes > o.max_bytes)
    throw core::InputError(fmt::format("-b/--minbytes: error: {} is above -e/--maxbytes {}", a.min, a.max));
  if (o.kind == exec::BenchKind::SendRecv && o.ranks < 2)
    throw core::InputError("--local: error: sendrecv needs at least 2 ranks\nhint: use --local 2 or more");
  o.algorithm = algorithm_flag(a.algorithm);
  o.dtype = dtype_flag(a.dtype);
  if (o.kind != exec::BenchKind::SendRecv)
    if (std::string why = work::unsupported(collective_of(o.kind), o.algorithm); !why.empty())
      throw core::InputError(fmt::format("--algorithm: error: {}", why));
  o.factor = a.factor;
  o.iters = a.iters;
  o.warmup = a.warmup;
  exec::BenchPredictor predictor, presets_predictor;
  std::string figures;  // the prediction's calibration, when predicted
  if (a.predict || a.predict_only) {
    if (a.topology.empty())
      throw core::InputError("--predict: error: a prediction needs the topology\nhint: pass -t TOPOLOGY");
    if (!sim::available())
      throw core::InputError("--predict: error: this clustertwin was built without the simulator (-DCLUSTERTWIN_SIM=OFF)");
    auto t = std::make_shared<topo::Topology>(
        exec::emulate::scaled_topology(topo::load_topology(a.topology, "-t/--topology", a.calibration), a.scale));
    if (a.launch.local > 0 && static_cast<int>(t->rank_nodes().size()) != a.launch.local)
      throw core::InputError(fmt::format("-t/--topology: error: '{}' runs {} ranks, but --local starts {}\n"
                                         "hint: --local {} (topologies/examples/local-3.yaml models 3 local workers)",
                                         a.topology, t->rank_nodes().size(), a.launch.local, t->rank_nodes().size()));
    predictor = [t](const core::Program& p) { return sim::simulate(p, *t); };
    o.predicted = !a.predict_only;
    o.predict_only = a.predict_only;
    figures = topo::calibration_text(*t);
    if (t->calibrated) {  // beside it, what the presets alone predict
      auto presets = std::make_shared<topo::Topology>(
          exec::emulate::scaled_topology(topo::load_topology(a.topology, "-t/--topology", "", false), a.scale));
      presets_predictor = [presets](const core::Program& p) { return sim::simulate(p, *presets); };
      o.predicted_presets = true;
    }
  }
  if (!figures.empty()) fmt::print("# predicted figures: {}\n", figures);
  fmt::print("{}", exec::bench_header(o, launch));
  std::fflush(stdout);
  auto rows = exec::run_bench(
      o, runner,
      [&o](const exec::BenchRow& r) {
        fmt::print("{}", exec::bench_row_text(r, o));
        std::fflush(stdout);
      },
      predictor, presets_predictor);
  fmt::print("{}", exec::bench_footer(rows));
  if (!a.json.empty()) {
    core::write_file(a.json, exec::bench_json(o, rows, launch).dump(1) + '\n');
  }
  size_t failed = std::count_if(rows.begin(), rows.end(), [](const exec::BenchRow& r) { return !r.error.empty(); });
  if (failed > 0) throw std::runtime_error(fmt::format("bench: {} of {} sizes failed (see the table)", failed, rows.size()));
}
struct ProbeArgs {
  std::string topology, out;
  bool quick = false;
  double budget = 0;  // seconds; 0: the mode's default
  LaunchFlags launch;
  exec::RunSettings settings{.op_timeout_s = 60};
};

// The command line as typed, for the calibration's `how`.
std::string probe_how(const ProbeArgs& a, const std::string& launch) {
  return fmt::format("clustertwin probe{} ({}, clustertwin {})", a.quick ? " --quick" : "", launch,
                     exec::software_version());
}

void probe(const ProbeArgs& a) {
  const topo::Topology t = topo::load_topology(a.topology);
  const int world = static_cast<int>(t.rank_nodes().size());
  if (a.launch.local > 0 && a.launch.local != world)
    throw core::InputError(fmt::format("--local: error: topology '{}' runs {} ranks, but --local starts {}\n"
                                       "hint: --local {} (each local worker stands for one of its nodes)",
                                       t.name, world, a.launch.local, world));
  const exec::Launch how = to_launch(a.launch, t, self_exe());
  const std::string launch = exec::launch_text(how, world);
  exec::ProbeOptions o = a.quick ? exec::ProbeOptions::quick() : exec::ProbeOptions::standard();
  if (a.budget > 0) o.budget_s = a.budget;
  fmt::print(stderr, "probe: '{}' ({}), {} pair{} to measure, time budget {:.0f} s{}\n", t.name, launch,
             exec::probe_pairs(t).size(), exec::probe_pairs(t).size() == 1 ? "" : "s", o.budget_s,
             a.quick ? " (--quick)" : "");
  auto result = exec::run_probe(t, o, exec::probe_runner(how, a.settings, t),
                                [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
  fmt::print("{}", exec::probe_report(t, result));
  const topo::Provenance when{exec::utc_now(), probe_how(a, launch)};
  std::vector<std::string> notes = result.notes;
  topo::Calibration c = exec::to_calibration(t, result, when, &notes);
  std::vector<std::string> comments{
      fmt::format("clustertwin calibration of '{}', written by `clustertwin probe` ({})", t.name, when.measured),
      "Apply it: clustertwin predict --calibration THIS_FILE ..., or `calibration: THIS_FILE` in the topology",
      "(the path relative to the topology file). Format: topologies/README.md, \"Calibration overlay\"."};
  for (const auto& n : notes) comments.push_back("note: " + n);
  const std::string yaml = topo::calibration_yaml(c, comments);
  if (a.out.empty()) {
    fmt::print("\n{}", yaml);
  } else {
    core::write_file(a.out, yaml);
    fmt::print("wrote {} ({} link direction{}, {} forwarder{}, {} device{}) in {:.1f} s\n", a.out, c.links.size(),
               c.links.size() == 1 ? "" : "s", c.forwarders.size(), c.forwarders.size() == 1 ? "" : "s",
               c.devices.size(), c.devices.size() == 1 ? "" : "s", result.seconds);
  }
  size_t failed = std::count_if(result.pairs.begin(), result.pairs.end(), [](const auto& p) { return !p.error.empty(); });
  if (failed > 0 || !result.device_error.empty())
    throw std::runtime_error(fmt::format("probe: {} of {} pairs{} failed (see above)", failed, result.pairs.size(),
                                         result.device_error.empty() ? "" : " and the device measurement"));
}

struct EmulateArgs {
  std::string topology, prefix;
  double scale = 1;
  bool delay = false, dry_run = false, verify = false;
};

// Configured vs measured one-way delay per direction of every link between two addressed nodes.
void print_delays(const exec::emulate::EmulationPlan& plan) {
  auto m = exec::emulate::measure_delays(plan);
  fmt::print("# one-way delay per direction: median of 200 UDP probes (one clock), round trip beside\n");
  fmt::print("# {:<24} {:>12} {:>12} {:>8} {:>12} {:>7}\n", "direction", "configured", "measured", "error", "round trip",
             "within");
  fmt::print("# {:<24} {:>12} {:>12} {:>8} {:>12} {:>7}\n", "", "(us)", "(us)", "(%)", "(us)", "5%+20us");
  int off = 0;
  for (const auto& d : m) {
    auto row = [&](const std::string& from, const std::string& to, double want, double got, double rtt) {
      std::string err = want > 0 ? fmt::format("{:+.1f}", (got - want) / want * 100) : "-";
      bool ok = std::abs(got - want) <= 0.05 * want + 20e-6;
      off += !ok;
      fmt::print("  {:<24} {:>12.1f} {:>12.1f} {:>8} {:>12.1f} {:>7}\n", from + " -> " + to, want * 1e6, got * 1e6, err,
                 rtt * 1e6, ok ? "yes" : "NO");
    };
    row(d.path.node_a, d.path.node_b, d.path.a_to_b, d.a_to_b, d.round_trip);
    row(d.path.node_b, d.path.node_a, d.path.b_to_a, d.b_to_a, d.round_trip);
  }
  if (m.empty())
    fmt::print("# no two addressed nodes are joined by links and switches alone: nothing to measure\n");
  else
    fmt::print("# {}\n", off == 0 ? "OK: every direction within 5 % + 20 us"
                                   : fmt::format("{} direction(s) off by more than 5 % + 20 us (a loaded machine?)", off));
}

void emulate_up(const EmulateArgs& a) {
  topo::Topology t = topo::load_topology(a.topology);
  // netem where the kernel has it, else user space (NFQUEUE); trying needs root, so a dry run
  // without it shows netem.
  bool netem = !a.delay || (a.dry_run && !exec::emulate::supported()) || exec::emulate::netem_available();
  auto plan = exec::emulate::plan_emulation(t, {a.scale, a.prefix, a.delay, netem});
  if (a.dry_run) {
    fmt::print("{}", plan.text());
    return;
  }
  double overhead = exec::emulate::up(plan);
  fmt::print("emulating '{}' in {} network namespaces ({}*), bandwidths x{}:\n", t.name, plan.namespaces.size(), plan.prefix,
             a.scale);
  for (size_t n = 0; n < t.nodes.size(); ++n)
    if (!plan.node_namespace[n].empty())
      fmt::print("  {:<12} {:<24} {}\n", t.nodes[n].name, plan.node_namespace[n],
                 plan.node_address[n].empty() ? "" : plan.node_address[n]);
  for (const auto& note : plan.notes) fmt::print("note: {}\n", note);
  if (a.delay)
    fmt::print("link latency added with {}\n",
               netem ? "netem"
                     : fmt::format("NFQUEUE and {} delay process(es) ({}), {:.1f} us of measured path overhead taken off "
                                   "each delay",
                                   plan.delay_processes.size(), exec::emulate::kDelayProcessName, overhead * 1e6));
  double shortest = 1e300;
  for (const auto& d : plan.delay_processes)
    for (const auto& q : d.queues)
      if (q.delay_s > 0) shortest = std::min(shortest, q.delay_s);
  if (shortest < overhead)
    fmt::print("note: a hop's one-way delay cannot go below this machine's {:.0f} us trip through user space: the "
               "{:.0f} us hops take that long (use longer delays, or a kernel with netem)\n",
               overhead * 1e6, shortest * 1e6);
  if (a.verify) print_delays(plan);
  fmt::print("run a command on a node: ip netns exec {}NODE COMMAND; remove all: clustertwin emulate down {}{}\n",
             plan.prefix, a.topology, a.prefix.empty() ? "" : " --prefix " + a.prefix);
}

void emulate_down(const EmulateArgs& a) {
  std::string prefix = a.prefix;
  if (prefix.empty()) prefix = exec::emulate::default_prefix(topo::load_topology(a.topology));
  auto removed = exec::emulate::down(prefix);
  fmt::print("removed {} network namespace{} ({}*)\n", removed.size(), removed.size() == 1 ? "" : "s", prefix);
}
}  // namespace

void add_exec_commands(CLI::App& app) {
  auto ba = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Collective throughput in the nccl-tests format (size, time, algbw, busbw, #wrong)");
  cmd->add_option("KIND", ba->kind, "allreduce | allgather | reducescatter | sendrecv")
      ->required()
      ->check(CLI::IsMember({"allreduce", "allgather", "reducescatter", "sendrecv"}));
  auto* topo_opt = cmd->add_option("-t,--topology", ba->topology,
                                   "Rank per compute node of this topology: over ssh, or in its emulation with --emulated "
                                   "(with --local: only the topology --predict simulates)");
  add_launch_flags(cmd, ba->launch, {.attach = false, .topology = topo_opt});
  auto* predict_flag =
      cmd->add_flag("--predict", ba->predict, "Add the simulator's time for the same Program on the topology")->needs(topo_opt);
  cmd->add_flag("--predict-only", ba->predict_only,
                "Only the simulator's table for the topology: no workers (a cluster you do not own)")
      ->needs(topo_opt)
      ->excludes(predict_flag);
  cmd->add_option("--scale", ba->scale, "Bandwidths x this for the prediction (the emulation's --scale)")
      ->check(CLI::PositiveNumber)
      ->needs(topo_opt);
  cmd->add_option("--calibration", ba->calibration, "Apply this calibration overlay (clustertwin probe -o) to --predict");
  cmd->add_option("--algorithm", ba->algorithm,
                  "ring (default), tree, direct, halving-doubling, bidirectional-ring or one-shot (the last two: allreduce)")
      ->check(CLI::IsMember({"ring", "tree", "direct", "halving-doubling", "bidirectional-ring", "one-shot"}));
  cmd->add_option("--dtype", ba->dtype, "Element type: fp32 (default), bf16 or fp16 (16-bit ones are added in fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  cmd->add_option("-b,--minbytes", ba->min, "Smallest size (bytes; K, M, G suffixes are binary)");
  cmd->add_option("-e,--maxbytes", ba->max, "Largest size");
  cmd->add_option("-f,--stepfactor", ba->factor, "Multiply the size by this from one row to the next")
      ->check(CLI::Range(1.0001, 1024.0));
  cmd->add_option("-n,--iters", ba->iters, "Timed iterations per size (the median is shown)")->check(CLI::Range(1, 100000));
  cmd->add_option("-w,--warmup_iters", ba->warmup, "Untimed iterations per size before them")->check(CLI::Range(0, 100000));
  cmd->add_option("--json", ba->json, "Also write the table as JSON to FILE");
  add_settings_flags(cmd, ba->settings, false);
  cmd->callback([ba] { bench(*ba); });

  auto pa = std::make_shared<ProbeArgs>();
  auto* probe_cmd = app.add_subcommand(
      "probe",
      "Measure the cluster's links, forwarding nodes and devices with the executor, and write a calibration overlay "
      "for predict --calibration");
  auto* probe_topo = probe_cmd->add_option("-t,--topology", pa->topology, "Topology YAML (its nodes are probed)")->required();
  probe_cmd->add_option("-o,--out", pa->out, "Write the calibration overlay here (default: print it)");
  probe_cmd->add_flag("--quick", pa->quick, "Fewer sizes (8 B .. 4 MiB), rounds and smaller streams: about a minute");
  probe_cmd->add_option("--budget", pa->budget,
                        "Seconds after which no new pair starts (default 900, --quick 120); skipped pairs are listed")
      ->check(CLI::PositiveNumber);
  add_launch_flags(probe_cmd, pa->launch, {.attach = false, .topology = probe_topo});
  add_settings_flags(probe_cmd, pa->settings, false);
  probe_cmd->footer(
      "Measures every pair of nodes joined by a link or by switches, and one pair across each node that forwards in "
      "software: ping-pong 8 B .. 64 MiB, one flow each way and both at once; then each device's sgemm and memory "
      "bandwidth.\nPorts: the workers' data ports (any free port) on the topology's cluster addresses; nothing "
      "else.\nTime: 10 s on three local ranks (--quick 3 s); about 45 s per 100 Mbit/s pair (slow links get smaller "
      "messages and shorter streams); --budget bounds it.\nLeaves behind: nothing but the -o file (workers exit after "
      "each measurement; nothing is copied to the nodes).");
  probe_cmd->callback([pa] { probe(*pa); });

  auto ea = std::make_shared<EmulateArgs>();
  auto* emu = app.add_subcommand("emulate", "Build a topology as network namespaces on this machine (Linux, root)");
  emu->require_subcommand(1);
  auto* up = emu->add_subcommand("up", "One namespace per node, a shaped veth per link, addresses and routes");
  up->add_option("TOPOLOGY", ea->topology, "Topology YAML")->required();
  up->add_option("--scale", ea->scale, "Multiply every bandwidth by this (the prediction must use the same)")
      ->check(CLI::PositiveNumber);
  up->add_option("--prefix", ea->prefix, "Namespace names start with this (default ct-<topology name>-)");
  auto* delay = up->add_flag("--delay", ea->delay,
                             "Also add each link's latency, per direction: netem where the kernel has it, else held in "
                             "user space (NFQUEUE; needs iptables and libnetfilter-queue)");
  up->add_flag("--verify", ea->verify, "Measure the one-way delay per direction and print it beside the configured figure")
      ->needs(delay);
  up->add_flag("--dry-run", ea->dry_run, "Print the ip/tc commands instead of running them");
  up->callback([ea] { emulate_up(*ea); });
  auto* down = emu->add_subcommand("down", "Remove every namespace `emulate up` made for the topology");
  down->add_option("TOPOLOGY", ea->topology, "Topology YAML")->required();
  down->add_option("--prefix", ea->prefix, "The prefix given to `emulate up`");
  down->callback([ea] { emulate_down(*ea); });
}

}  // namespace clustertwin::cli
