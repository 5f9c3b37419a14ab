// `clustertwin calibration import-iperf3`: iperf3 --json results into a calibration overlay (the
// format of `probe -o`), alone or merged into one a probe wrote.
#include <memory>

#include <fmt/format.h>

#include "cli/app.h"
#include "core/file.h"
#include "core/format.h"
#include "topologies/calibration.h"
#include "topologies/iperf3.h"

namespace clustertwin::cli {

namespace {
struct ImportArgs {
  std::string topology, merge, out;
  std::vector<std::string> files;
};

void import_iperf3(const ImportArgs& a) {
  const topo::Topology t = topo::load_topology(a.topology);
  std::vector<topo::Iperf3Result> results;
  for (const auto& f : a.files) results.push_back(topo::load_iperf3(topo::parse_iperf3_arg(f)));
  topo::Calibration c = a.merge.empty() ? topo::Calibration{} : topo::load_calibration(a.merge, "--merge");
  const size_t before = c.links.size();
  topo::import_iperf3(c, t, results);
  for (const auto& r : results)
    for (const auto& f : r.flows)
      fmt::print(stderr, "iperf3: {} -> {}: {} ({}) of TCP goodput, {} {}\n", f.from, f.to, core::format_bit_rate(f.goodput),
                 core::format_rate(f.goodput), r.source.file, r.measured);
  std::vector<std::string> comments{
      fmt::format("clustertwin calibration of '{}'{}", t.name,
                  a.merge.empty() ? ", goodputs imported from iperf3 --json"
                                  : fmt::format(", {} with goodputs imported from iperf3 --json", a.merge)),
      "Apply it: clustertwin predict --calibration THIS_FILE ..., or `calibration: THIS_FILE` in the topology.",
      "Format: topologies/README.md, \"Calibration overlay\"."};
  const std::string yaml = topo::calibration_yaml(c, comments);
  if (a.out.empty()) {
    fmt::print("{}", yaml);
    return;
  }
  core::write_file(a.out, yaml);
  fmt::print("wrote {} ({} link direction{}, {} new)\n", a.out, c.links.size(), c.links.size() == 1 ? "" : "s",
             c.links.size() - before);
}
}  // namespace

void add_calibration_commands(CLI::App& app) {
  auto* cal = app.add_subcommand("calibration", "Build a calibration overlay from other tools' measurements");
  cal->require_subcommand(1);
  auto a = std::make_shared<ImportArgs>();
  auto* imp = cal->add_subcommand(
      "import-iperf3", "Put the TCP goodput of iperf3 --json runs (client side) into a calibration overlay");
  imp->add_option("-t,--topology", a->topology, "Topology YAML the runs were made on (node names, links)")->required();
  imp->add_option("RUNS", a->files,
                  "CLIENT:SERVER=FILE: the node `iperf3 -c` ran on, the node it connected to, its --json output")
      ->required();
  imp->add_option("--merge", a->merge, "Start from this overlay (clustertwin probe -o): its latencies stay, goodputs are replaced");
  imp->add_option("-o,--out", a->out, "Write the overlay here (default: print it); may be the --merge file");
  imp->footer(
      "Each file gives the direction it measured: CLIENT -> SERVER, SERVER -> CLIENT with -R, both with --bidir; the "
      "goodput is end.sum_received (the receiver's count, all -P streams summed). Several files for one direction: "
      "the median. Run iperf3 between nodes a link joins directly.\nExample: iperf3 -s on mini2; on mini1: iperf3 -c "
      "10.10.0.2 --json > a.json; iperf3 -c 10.10.0.2 -R --json > b.json\n  clustertwin calibration import-iperf3 -t "
      "topo.yaml mini1:mini2=a.json mini1:mini2=b.json -o cal.yaml");
  imp->callback([a] { import_iperf3(*a); });
}

}  // namespace clustertwin::cli
