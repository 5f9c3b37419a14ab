#include "plan/evaluate.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/diag.h"
#include "core/format.h"
#include "core/program.h"
#include "reports/bottleneck.h"
#include "sim/simulator.h"
#include "topologies/cost.h"
#include "topologies/check.h"
#include "topologies/placement.h"
#include "topologies/routing.h"
#include "workloads/talking.h"
#include "workloads/workload.h"

namespace clustertwin::plan {

namespace {

using Records = std::shared_ptr<const std::vector<core::OpRecord>>;

// A simulation's result, shared by every candidate with the same Program and topology.
struct Simulated {
  Records records;
  std::string error;  // the simulator refused it
  bool input_error = false;
  double seconds = 0;
};

class Cache {
 public:
  // The simulation of (program, topology), run by the first caller and awaited by the others.
  Simulated get(const std::string& key, bool& hit, const std::function<Simulated()>& run) {
    std::shared_future<Simulated> f;
    std::promise<Simulated> mine;
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      hit = it != entries_.end();
      if (hit) f = it->second;
      else entries_.emplace(key, mine.get_future().share());
    }
    if (hit) return f.get();
    Simulated s = run();
    mine.set_value(s);
    return s;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_future<Simulated>> entries_;
};

// "file:line:col: error: message\n..." -> "message" (the first line's text after its severity).
std::string reason_of(const std::string& diagnostic) {
  std::string first = diagnostic.substr(0, diagnostic.find('\n'));
  for (const char* tag : {"error: ", "warning: "})
    if (auto at = first.find(tag); at != std::string::npos) return first.substr(at + std::string(tag).size());
  return first;
}

Outcome rejected(std::string by, std::string reason, std::string diagnostic = {}) {
  Outcome o;
  o.status = Status::Rejected;
  o.refused_by = std::move(by);
  o.reason = std::move(reason);
  o.diagnostic = std::move(diagnostic);
  return o;
}

// Accumulation steps the workload runs per replica: the micro-batches of its plan.
int accumulation(const work::Workload& w) {
  using work::Strategy;
  const Strategy s = w.parallel.strategy();
  if (s == Strategy::Ddp || s == Strategy::Zero) return work::data_parallel_plan(w.parallel).micro_batches;
  if (s == Strategy::ParameterServer) return 1;
  return work::model_parallel_plan(w.parallel).schedule.micro_batches;
}

struct Compiled {
  topo::Topology topology;
  work::Workload workload;
  core::Program program;
  bool check_memory = true;  // the workload's `memory: check:`
};

// Whether simulating `sim_steps` of the workload gives its step time (see Spec::sim_steps).
bool steady(const work::Workload& w) {
  if (w.task != work::Task::Train) return false;
  const auto* ps = std::get_if<work::ParameterServer>(&w.parallel.options);
  return !(ps && ps->async);
}

Compiled compile(const std::string& topology_yaml, const std::string& workload_yaml, const std::string& dir,
                 int sim_steps) {
  Compiled c{topo::parse_topology(topology_yaml, dir + "/topology.yaml"),
             work::parse_workload(workload_yaml, dir + "/workload.yaml"), {}};
  if (sim_steps > 0 && steady(c.workload)) c.workload.steps = std::min(c.workload.steps, sim_steps);
  c.check_memory = c.workload.memory.check;
  c.workload.memory.check = false;  // the planner checks memory itself, with its headroom
  c.program = work::compile(c.workload, c.topology);
  core::validate(c.program);
  topo::place(c.topology, c.program.placement);
  return c;
}

// The micro-batches per replica that make the global batch, or a reason why none does.
std::variant<int, std::string> accumulation_for(const Spec& s, const Compiled& c) {
  const auto& w = c.workload;
  const int acc = accumulation(w);
  const double replicas = c.program.samples_per_step / (static_cast<double>(w.micro_batch) * acc);
  const int64_t per_pass = w.micro_batch * static_cast<int64_t>(std::llround(replicas));
  if (per_pass <= 0 || *s.global_batch % per_pass != 0)
    return fmt::format("global batch {} is not a multiple of micro_batch {} x {} replicas", *s.global_batch,
                       w.micro_batch, std::llround(replicas));
  return static_cast<int>(*s.global_batch / per_pass);
}

std::string memory_reason(const Compiled& c, double headroom) {
  if (!c.check_memory) return {};
  const auto nodes = c.topology.rank_nodes();
  int worst = -1;
  double worst_ratio = 1;
  for (size_t r = 0; r < c.program.memory.size(); ++r) {
    const auto& m = c.program.memory[r];
    if (m.capacity <= 0) continue;
    const double ratio = m.total() / (m.capacity * (1 - headroom));
    if (ratio > worst_ratio) worst = static_cast<int>(r), worst_ratio = ratio;
  }
  if (worst < 0) return {};
  const auto& m = c.program.memory[worst];
  const auto& node = c.topology.nodes[nodes[worst]];
  std::vector<std::pair<double, const char*>> parts{{m.weights, "weights"},   {m.gradients, "gradients"},
                                                    {m.optimizer, "optimizer"}, {m.activations, "activations"},
                                                    {m.kv_cache, "KV cache"}, {m.buffers, "buffers"}};
  std::sort(parts.begin(), parts.end(), std::greater<>());
  std::vector<std::string> big;
  for (const auto& [bytes, what] : parts)
    if (bytes > 0 && big.size() < 3) big.push_back(fmt::format("{} {}", what, core::format_bytes(bytes)));
  return fmt::format("rank {} on {} ({}) needs {} of {} usable{} ({})", worst, node.name,
                     node.device ? node.device->preset : "?", core::format_bytes(m.total()),
                     core::format_bytes(m.capacity * (1 - headroom)),
                     headroom > 0 ? fmt::format(" after {:.0f} % headroom", 100 * headroom) : "", fmt::join(big, ", "));
}

// Nodes forwarding in software on the routes the Program's rank pairs use.
std::vector<std::string> forwarders_of(const topo::Topology& t, const topo::CheckOptions& pairs) {
  std::set<std::string> names;
  const topo::Routes routes(t);
  const auto nodes = t.rank_nodes();
  for (const auto& [a, b] : *pairs.talking) {
    const int na = nodes[a], nb = nodes[b];
    if (na == nb || !routes.reachable(na, nb)) continue;
    for (int f : topo::transit_forwarders(t, routes.between(na, nb))) names.insert(t.nodes[f].name);
  }
  return {names.begin(), names.end()};
}

// With a fixed global batch, sets the workload's accumulation (o.workload_yaml) and recompiles `c`;
// the refusal when no accumulation reaches it.
std::optional<Outcome> hold_global_batch(const Spec& s, const std::string& dir, Outcome& o, Compiled& c) {
  if (!s.global_batch || c.workload.task != work::Task::Train) return std::nullopt;
  auto need = accumulation_for(s, c);
  if (auto* why = std::get_if<std::string>(&need)) return rejected("batch", *why);
  const int micro_batches = std::get<int>(need);
  if (micro_batches == accumulation(c.workload)) return std::nullopt;
  const Edit set = SetKey{"parallel.micro_batches", YAML::Node(micro_batches)};
  const Documents d = apply_edits({YAML::Node(), YAML::Load(o.workload_yaml)}, {&set});
  if (!d.workload["parallel"]["micro_batches"])
    return rejected("batch", fmt::format("strategy '{}' has no gradient accumulation to reach global batch {}",
                                         work::name(c.workload.parallel.strategy()), *s.global_batch));
  o.workload_yaml = emit(d.workload);
  c = compile(o.topology_yaml, o.workload_yaml, dir, s.sim_steps);
  return std::nullopt;
}

Outcome judge(const Spec& s, const Candidate& cand, Cache& cache, std::atomic<int>& sims, std::atomic<int>& hits,
              std::atomic<long long>& sim_us) {
  const std::string dir = fmt::format("candidate-{}", cand.id);
  Outcome o;
  o.topology_yaml = cand.topology_yaml;
  o.workload_yaml = cand.workload_yaml;
  Compiled c;
  try {
    c = compile(o.topology_yaml, o.workload_yaml, dir, s.sim_steps);
    if (auto refused = hold_global_batch(s, dir, o, c)) return *refused;
  } catch (const core::InputError& e) {
    return rejected("invalid", reason_of(e.what()), e.what());
  }
  o.world = c.program.world();
  o.micro_batches = accumulation(c.workload);
  o.inference = c.program.prefill_steps > 0;
  o.tokens_per_step = c.program.tokens_per_step;
  o.program_hash = core::program_hash(c.program);

  const topo::CheckOptions pairs = work::talking_pairs(c.program);
  for (const auto& f : topo::check(c.topology, pairs)) {
    if (f.severity == topo::Severity::Error)
      return rejected("check", fmt::format("[{} {}] {}", f.code, f.name, f.message), topo::format_finding(c.topology, f));
    std::string w = fmt::format("{} {}", f.code, f.name);
    if (std::find(o.warnings.begin(), o.warnings.end(), w) == o.warnings.end()) o.warnings.push_back(w);
  }
  if (std::string why = memory_reason(c, s.headroom); !why.empty()) return rejected("memory", why);
  for (size_t r = 0; r < c.program.memory.size(); ++r)
    if (c.program.memory[r].capacity > 0)
      o.memory_peak = std::max(o.memory_peak, c.program.memory[r].total() / c.program.memory[r].capacity);

  bool hit = false;
  const Simulated sim = cache.get(o.program_hash + '\n' + o.topology_yaml, hit, [&] {
    Simulated out;
    try {
      sim::SimStats st;
      out.records = std::make_shared<const std::vector<core::OpRecord>>(sim::simulate(c.program, c.topology, &st));
      out.seconds = st.wall_seconds;
    } catch (const core::InputError& e) {
      out.error = e.what();
      out.input_error = true;
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    return out;
  });
  (hit ? hits : sims).fetch_add(1);
  if (!hit) sim_us.fetch_add(static_cast<long long>(sim.seconds * 1e6));
  if (!sim.error.empty()) return rejected("sim", reason_of(sim.error), sim.error);
  o.cached = hit;
  o.summary = core::summarize(c.program, *sim.records);
  o.bound = reports::what_bounds(o.summary, &c.topology);
  o.forwarders = forwarders_of(c.topology, pairs);
  o.power = topo::power_under_load(c.topology);
  o.price = topo::device_price(c.topology);
  if (o.price > 0) o.price += topo::cable_price(c.topology).dollars;
  return o;
}

void print_progress(size_t done, size_t total, std::chrono::steady_clock::time_point start) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double eta = rate > 0 ? (total - done) / rate : 0;
  fmt::print(stderr, "\rplan: {}/{} candidates, {:.1f}/s, ETA {:.0f} s   ", done, total, rate, eta);
  if (done == total) fmt::print(stderr, "\n");
}

}  // namespace

std::vector<Outcome> evaluate(const Spec& s, const std::vector<Candidate>& candidates, const EvalOptions& opt,
                              EvalStats* stats) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<Outcome> out(candidates.size());
  Cache cache;
  std::atomic<size_t> next{0}, done{0};
  std::atomic<int> sims{0}, hits{0};
  std::atomic<long long> sim_us{0};
  std::mutex progress_mu;
  const int jobs = opt.jobs > 0 ? opt.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::vector<size_t> mine;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (static_cast<int>(i % opt.shares) == opt.share) mine.push_back(i);
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < mine.size();) {
      const size_t i = mine[k];
      const Candidate& c = candidates[i];
      if (c.duplicate_of >= 0) {
        out[i].status = Status::Duplicate;
        out[i].reason = fmt::format("same documents as candidate {}", c.duplicate_of);
      } else {
        try {
          out[i] = judge(s, c, cache, sims, hits, sim_us);
        } catch (const std::exception& e) {  // a bug or a system failure: kept with the candidate
          out[i] = rejected("internal", reason_of(e.what()), e.what());
        }
      }
      const size_t n = done.fetch_add(1) + 1;
      if (opt.progress && (n % 8 == 0 || n == mine.size())) {
        std::lock_guard lock(progress_mu);
        print_progress(n, mine.size(), start);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int j = 1; j < jobs; ++j) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (stats) {
    stats->simulations = sims;
    stats->cache_hits = hits;
    stats->rejected = static_cast<int>(std::count_if(out.begin(), out.end(), [](const Outcome& o) { return o.status == Status::Rejected; }));
    stats->duplicates = static_cast<int>(std::count_if(out.begin(), out.end(), [](const Outcome& o) { return o.status == Status::Duplicate; }));
    stats->wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats->simulate_seconds = sim_us / 1e6;
  }
  return out;
}

}  // namespace clustertwin::plan
