#include "core/program.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace clustertwin::core {

namespace {
constexpr std::string_view kOpKinds[] = {"compute", "send", "recv", "collective"};
constexpr std::string_view kPhases[] = {"forward", "backward", "optimizer", "reduce",
                                        "prefill", "decode",   "comm",      "other"};
constexpr std::string_view kCollectives[] = {"allreduce", "allgather", "reducescatter",
                                             "broadcast", "reduce",    "alltoall"};
constexpr std::string_view kAlgorithms[] = {"ring", "tree", "direct", "halving-doubling", "hierarchical",
                                            "bidirectional-ring", "one-shot"};
constexpr std::string_view kDTypes[] = {"fp32", "bf16", "fp16", "int8", "int4"};

template <typename E, size_t N>
E parse_enum(const nlohmann::json& j, const std::string_view (&names)[N], std::string_view what) {
  std::string s = j.get<std::string>();
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  throw std::invalid_argument(fmt::format("program: unknown {} '{}'", what, s));
}
}  // namespace

std::string_view name(OpKind v) { return kOpKinds[static_cast<int>(v)]; }
std::string_view name(Phase v) { return kPhases[static_cast<int>(v)]; }
std::string_view name(CollectiveKind v) { return kCollectives[static_cast<int>(v)]; }
std::string_view name(Algorithm v) { return kAlgorithms[static_cast<int>(v)]; }
std::string_view name(DType v) { return kDTypes[static_cast<int>(v)]; }
int size_of(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16:
    case DType::F16: return 2;
    case DType::I8:
    case DType::I4: return 1;
  }
  return 4;
}
double bytes_per_element(DType t) { return t == DType::I4 ? 0.5 : size_of(t); }

void validate(const Program& p) {
  auto bad = [](int rank, size_t op, std::string_view why) {
    throw std::invalid_argument(fmt::format("program: rank {} op {}: {}", rank, op, why));
  };
  const int world = p.world();
  if (!p.placement.empty() && static_cast<int>(p.placement.size()) != world)
    throw std::invalid_argument(
        fmt::format("program: placement names {} nodes for {} ranks (one per rank)", p.placement.size(), world));
  // (src, dst, tag) -> sends minus recvs; every message must be both sent and received.
  std::map<std::tuple<int, int, int>, int> pending;
  // (tag, group) -> number of ranks holding that collective
  std::map<std::pair<int, int>, int> members;
  for (int r = 0; r < world; ++r) {
    const auto& rp = p.ranks[r];
    if (rp.rank != r) bad(r, 0, fmt::format("ranks must be listed in order, found rank {}", rp.rank));
    for (size_t i = 0; i < rp.ops.size(); ++i) {
      const Op& op = rp.ops[i];
      for (uint32_t d : op.deps)
        if (d >= i) bad(r, i, fmt::format("dep {} does not point to an earlier op", d));
      if (!(op.overhead >= 0) || std::isinf(op.overhead)) bad(r, i, fmt::format("overhead {} is not a duration", op.overhead));
      switch (op.kind) {
        case OpKind::Compute: break;
        case OpKind::Send:
        case OpKind::Recv:
          if (op.peer < 0 || op.peer >= world || op.peer == r) bad(r, i, fmt::format("invalid peer {}", op.peer));
          if (op.kind == OpKind::Send) ++pending[{r, op.peer, op.tag}];
          else --pending[{op.peer, r, op.tag}];
          break;
        case OpKind::Collective: {
          if (op.group < 0 || op.group >= static_cast<int>(p.groups.size())) bad(r, i, "invalid group");
          const auto& g = p.groups[op.group];
          bool in = false;
          for (int m : g) in = in || m == r;
          if (!in) bad(r, i, fmt::format("rank is not in the collective's group {}", op.group));
          if (op.root >= 0 && std::find(g.begin(), g.end(), op.root) == g.end())
            bad(r, i, fmt::format("root {} is not in the collective's group {}", op.root, op.group));
          if (op.algorithm == Algorithm::Hierarchical && (op.local < 1 || g.size() % op.local != 0))
            bad(r, i, fmt::format("hierarchical collective needs 'local' dividing the group size {}, has {}", g.size(), op.local));
          if (op.stripes < 0 || op.stripes > 64) bad(r, i, fmt::format("stripes must be 0 to 64, has {}", op.stripes));
          ++members[{op.tag, op.group}];
          break;
        }
      }
    }
  }
  for (const auto& [key, n] : pending)
    if (n != 0)
      throw std::invalid_argument(fmt::format("program: message {}->{} tag {} has {} {}", std::get<0>(key),
                                              std::get<1>(key), std::get<2>(key), std::abs(n),
                                              n > 0 ? "send(s) without a recv" : "recv(s) without a send"));
  for (const auto& [key, n] : members)
    if (n != static_cast<int>(p.groups[key.second].size()))
      throw std::invalid_argument(fmt::format("program: collective {} is held by {} of the {} ranks of group {}",
                                              key.first, n, p.groups[key.second].size(), key.second));
}

nlohmann::json to_json(const Program& p) {
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& rp : p.ranks) {
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& op : rp.ops) {
      nlohmann::json o{{"kind", name(op.kind)}, {"phase", name(op.phase)}, {"step", op.step},
                       {"label", op.label}, {"deps", op.deps}};
      switch (op.kind) {
        case OpKind::Compute:
          o["flops"] = op.flops;
          o["bytes"] = op.bytes;
          if (op.gemm.count > 0) o["gemm"] = {op.gemm.m, op.gemm.n, op.gemm.k, op.gemm.count};
          if (op.dtype != DType::F32) o["dtype"] = name(op.dtype);
          break;
        case OpKind::Send:
        case OpKind::Recv:
          o["bytes"] = op.bytes;
          o["peer"] = op.peer;
          o["tag"] = op.tag;
          break;
        case OpKind::Collective:
          o["bytes"] = op.bytes;
          o["collective"] = name(op.collective);
          o["algorithm"] = name(op.algorithm);
          o["dtype"] = name(op.dtype);
          o["group"] = op.group;
          o["tag"] = op.tag;
          if (op.root >= 0) o["root"] = op.root;
          if (op.local > 0) o["local"] = op.local;
          if (op.stripes > 1) o["stripes"] = op.stripes;
          break;
      }
      if (op.overhead != 0) o["overhead"] = op.overhead;
      ops.push_back(std::move(o));
    }
    ranks.push_back({{"rank", rp.rank}, {"ops", std::move(ops)}});
  }
  nlohmann::json j{{"name", p.name},       {"steps", p.steps},   {"samples_per_step", p.samples_per_step},
                   {"tokens_per_step", p.tokens_per_step}, {"groups", p.groups}, {"ranks", std::move(ranks)}};
  if (!p.placement.empty()) j["placement"] = p.placement;
  if (p.prefill_steps > 0) j["prefill_steps"] = p.prefill_steps;
  if (p.prefill_tokens > 0) j["prefill_tokens"] = p.prefill_tokens;
  if (!p.memory.empty()) {
    nlohmann::json mem = nlohmann::json::array();
    for (const auto& m : p.memory)
      mem.push_back({{"weights", m.weights}, {"gradients", m.gradients}, {"optimizer", m.optimizer},
                     {"activations", m.activations}, {"kv_cache", m.kv_cache}, {"buffers", m.buffers},
                     {"capacity", m.capacity}});
    j["memory"] = std::move(mem);
  }
  return j;
}

Program program_from_json(const nlohmann::json& j) {
  try {
    Program p;
    p.name = j.at("name").get<std::string>();
    p.steps = j.at("steps").get<int32_t>();
    p.samples_per_step = j.at("samples_per_step").get<double>();
    p.tokens_per_step = j.at("tokens_per_step").get<double>();
    p.groups = j.at("groups").get<std::vector<std::vector<int32_t>>>();
    for (const auto& jr : j.at("ranks")) {
      RankProgram rp;
      rp.rank = jr.at("rank").get<int32_t>();
      for (const auto& o : jr.at("ops")) {
        Op op;
        op.kind = parse_enum<OpKind>(o.at("kind"), kOpKinds, "op kind");
        op.phase = parse_enum<Phase>(o.at("phase"), kPhases, "phase");
        op.step = o.at("step").get<int32_t>();
        op.label = o.at("label").get<std::string>();
        op.deps = o.at("deps").get<std::vector<uint32_t>>();
        op.bytes = o.value("bytes", 0.0);
        op.flops = o.value("flops", 0.0);
        op.peer = o.value("peer", -1);
        op.tag = o.value("tag", 0);
        op.group = o.value("group", -1);
        op.overhead = o.value("overhead", 0.0);
        if (o.contains("gemm")) {
          auto g = o.at("gemm").get<std::vector<int64_t>>();
          if (g.size() != 4) throw std::invalid_argument("program: gemm needs [m, n, k, count]");
          op.gemm = {g[0], g[1], g[2], g[3]};
        }
        if (op.kind == OpKind::Collective) {
          op.collective = parse_enum<CollectiveKind>(o.at("collective"), kCollectives, "collective");
          op.algorithm = parse_enum<Algorithm>(o.at("algorithm"), kAlgorithms, "algorithm");
          op.dtype = parse_enum<DType>(o.at("dtype"), kDTypes, "dtype");
          op.root = o.value("root", -1);
          op.local = o.value("local", 0);
          op.stripes = o.value("stripes", 0);
        } else if (op.kind == OpKind::Compute && o.contains("dtype")) {
          op.dtype = parse_enum<DType>(o.at("dtype"), kDTypes, "dtype");
        }
        rp.ops.push_back(std::move(op));
      }
      p.ranks.push_back(std::move(rp));
    }
    if (j.contains("placement")) p.placement = j.at("placement").get<std::vector<std::string>>();
    p.prefill_steps = j.value("prefill_steps", 0);
    p.prefill_tokens = j.value("prefill_tokens", 0.0);
    if (j.contains("memory"))
      for (const auto& m : j.at("memory"))
        p.memory.push_back({m.at("weights").get<double>(), m.at("gradients").get<double>(), m.at("optimizer").get<double>(),
                            m.at("activations").get<double>(), m.at("kv_cache").get<double>(), m.at("buffers").get<double>(),
                            m.at("capacity").get<double>()});
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("program: malformed JSON: {}", e.what()));
  }
}

std::string program_hash(const Program& p) {
  nlohmann::json j = to_json(p);
  j.erase("memory");  // metadata: what each rank holds does not change what runs
  j.erase("prefill_tokens");
  std::string text = j.dump();
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

}  // namespace clustertwin::core
