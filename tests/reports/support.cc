#include "support.h"

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

RunBuilder& RunBuilder::send(int rank, int step, int peer, int tag, double bytes, double start, double end) {
  core::Op op;
  op.kind = core::OpKind::Send;
  op.phase = core::Phase::Comm;
  op.step = step;
  op.label = "act.send";
  op.bytes = bytes;
  op.peer = peer;
  op.tag = tag;
  add(rank, op, start, end);
  return *this;
}

RunBuilder& RunBuilder::recv(int rank, int step, int peer, int tag, double bytes, double start, double end) {
  core::Op op;
  op.kind = core::OpKind::Recv;
  op.phase = core::Phase::Comm;
  op.step = step;
  op.label = "act.recv";
  op.bytes = bytes;
  op.peer = peer;
  op.tag = tag;
  add(rank, op, start, end);
  return *this;
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

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace clustertwin::reports::testing
