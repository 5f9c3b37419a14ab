#include "support.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

namespace clustertwin::reports::testing {

RunBuilder::RunBuilder(int world, int steps) {
  program.name = "hand-made";
  program.steps = steps;
  program.samples_per_step = 8;
  program.tokens_per_step = 8192;
  std::vector<int32_t> all(world);
  std::iota(all.begin(), all.end(), 0);
  program.groups = {all};
  for (int r = 0; r < world; ++r) program.ranks.push_back({r, {}});
}

core::Op& RunBuilder::add(int rank, core::Op op, double start, double end) {
  auto& ops = program.ranks.at(rank).ops;
  if (!ops.empty()) op.deps = {static_cast<uint32_t>(ops.size() - 1)};
  records.push_back({rank, static_cast<uint32_t>(ops.size()), start, end});
  ops.push_back(std::move(op));
  return ops.back();
}

RunBuilder& RunBuilder::compute(int rank, int step, core::Phase phase, const std::string& label, double start, double end) {
  core::Op op;
  op.phase = phase;
  op.step = step;
  op.label = label;
  op.flops = 1e9;
  add(rank, op, start, end);
  return *this;
}

RunBuilder& RunBuilder::collective(int rank, int step, const std::string& label, double bytes, double start, double end,
                                   int group) {
  core::Op op;
  op.kind = core::OpKind::Collective;
  op.phase = core::Phase::Comm;
  op.step = step;
  op.label = label;
  op.bytes = bytes;
  op.group = group;
  op.tag = static_cast<int32_t>(std::hash<std::string>{}(label) % 100000) * 1000 + step;
  add(rank, op, start, end);
  return *this;
}

RunBuilder& RunBuilder::message(core::OpKind kind, int rank, int step, int peer, int tag, double bytes, double start,
                                double end) {
  core::Op op;
  op.kind = kind;
  op.phase = core::Phase::Comm;
  op.step = step;
  op.label = kind == core::OpKind::Send ? "act.send" : "act.recv";
  op.bytes = bytes;
  op.peer = peer;
  op.tag = tag;
  add(rank, op, start, end);
  return *this;
}

RunBuilder& RunBuilder::send(int rank, int step, int peer, int tag, double bytes, double start, double end) {
  return message(core::OpKind::Send, rank, step, peer, tag, bytes, start, end);
}

RunBuilder& RunBuilder::recv(int rank, int step, int peer, int tag, double bytes, double start, double end) {
  return message(core::OpKind::Recv, rank, step, peer, tag, bytes, start, end);
}

std::string RunBuilder::write(const std::filesystem::path& dir, const std::string& backend,
                              const std::string& topology_yaml) const {
  core::validate(program);
  core::write_run(dir.string(), {backend, "hand-made-topology", program.name, "test"}, program, records,
                  core::summarize(program, records));
  std::ofstream(dir / "program.json") << core::to_json(program).dump() << '\n';
  if (!topology_yaml.empty()) std::ofstream(dir / "topology.yaml") << topology_yaml;
  return dir.string();
}

namespace {
std::string write_synthetic(const std::filesystem::path& dir, const std::string& backend, int world, int steps,
                            bool measured) {
  RunBuilder b(world, steps);
  const int layers = 12, buckets = 4;
  double step_start = 0;
  for (int step = 0; step < steps; ++step) {
    double step_end = step_start;
    for (int r = 0; r < world; ++r) {
      double slow = measured ? (r == world / 3 ? 1.4 : 1.1) : 1.0;
      double layer = 0.01 * slow * (1 + 0.02 * (step % 3)), comm = 0.012 * (measured ? 1.3 : 1.0);
      double t = step_start;
      for (int l = 0; l < layers; ++l, t += layer)
        b.compute(r, step, core::Phase::Forward, "L" + std::to_string(l) + ".fwd", t, t + layer);
      double comm_free = t;  // all-reduces run one after the other, each after its bucket's layers
      for (int l = layers - 1; l >= 0; --l) {
        b.compute(r, step, core::Phase::Backward, "L" + std::to_string(l) + ".bwd", t, t + 2 * layer);
        t += 2 * layer;
        if (l % (layers / buckets) == 0) {
          double start = std::max(t, comm_free);
          // The slow rank's peers wait for it: every member ends when the slowest has sent.
          b.collective(r, step, "grad.bucket" + std::to_string(l / (layers / buckets)), 25e6, start, start + comm);
          comm_free = start + comm;
        }
      }
      double opt_start = std::max(t, comm_free);
      b.compute(r, step, core::Phase::Optimizer, "opt", opt_start, opt_start + layer);
      step_end = std::max(step_end, opt_start + layer);
    }
    step_start = step_end + 0.001;
  }
  std::string topo = "name: synthetic\nnodes:\n";
  for (int r = 0; r < world; ++r) topo += "  - {name: n" + std::to_string(r) + ", device: mac-mini-m4, address: 10.0.0." + std::to_string(r + 1) + "}\n";
  topo += "  - {name: sw, kind: switch}\nlinks:\n";
  for (int r = 0; r < world; ++r) topo += "  - {between: [n" + std::to_string(r) + ", sw], type: eth-10g}\n";
  return b.write(dir, backend, topo);
}
}  // namespace

std::pair<std::string, std::string> write_synthetic_pair(const std::filesystem::path& dir, int world, int steps) {
  return {write_synthetic(dir / "pred", "predicted", world, steps, false),
          write_synthetic(dir / "meas", "measured", world, steps, true)};
}

std::pair<std::string, std::string> write_hand_pair(const std::filesystem::path& dir) {
  auto write = [&](const char* name, const char* backend, double compute, double step) {
    RunBuilder b(2, 1);
    for (int r = 0; r < 2; ++r)
      b.compute(r, 0, core::Phase::Forward, "fwd", 0, compute).collective(r, 0, "grad", 100e6, compute, step);
    return b.write(dir / name, backend);
  };
  return {write("pred", "predicted", 1.0, 1.6), write("meas", "measured", 1.2, 2.2)};
}

std::pair<std::string, std::string> write_near_zero_pair(const std::filesystem::path& dir) {
  RunBuilder pred(2, 1), meas(2, 1);
  for (int r = 0; r < 2; ++r) {
    pred.compute(r, 0, core::Phase::Forward, "fwd", 0, 1).collective(r, 0, "grad", 100e6, 1, r ? 1.55 : 1.6);
    meas.compute(r, 0, core::Phase::Forward, "fwd", 0, 1.2)
        .collective(r, 0, "grad", 100e6, 1.2, 2.2)
        .collective(r, 0, "extra", 1e6, 2.2, r ? 2.3 - 2e-9 : 2.3);
  }
  return {pred.write(dir / "pred", "predicted"), meas.write(dir / "meas", "measured")};
}

std::string write_star_ring(const std::filesystem::path& dir) {
  RunBuilder b(4, 1);
  for (int r = 0; r < 4; ++r) b.collective(r, 0, "grad", 100e6, 0, 1);
  return b.write(dir / "star", "predicted", read_file(CLUSTERTWIN_SOURCE_DIR "/topologies/examples/tb4-star-4minis.yaml"));
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++n;
  return n;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace clustertwin::reports::testing
