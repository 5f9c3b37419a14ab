#include "exec/bench.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "exec/handshake.h"

namespace clustertwin::exec {

std::optional<BenchKind> bench_kind(std::string_view n) {
  if (n == "allreduce") return BenchKind::AllReduce;
  if (n == "allgather") return BenchKind::AllGather;
  if (n == "reducescatter") return BenchKind::ReduceScatter;
  if (n == "sendrecv") return BenchKind::SendRecv;
  return std::nullopt;
}

std::string_view name(BenchKind k) {
  switch (k) {
    case BenchKind::AllReduce: return "allreduce";
    case BenchKind::AllGather: return "allgather";
    case BenchKind::ReduceScatter: return "reducescatter";
    case BenchKind::SendRecv: return "sendrecv";
  }
  return "?";
}

double busbw_factor(BenchKind k, int n) {
  switch (k) {
    case BenchKind::AllReduce: return 2.0 * (n - 1) / n;
    case BenchKind::AllGather:
    case BenchKind::ReduceScatter: return static_cast<double>(n - 1) / n;
    case BenchKind::SendRecv: return 1;
  }
  return 1;
}

std::string_view type_name(core::DType d) {
  switch (d) {
    case core::DType::F16: return "half";
    case core::DType::BF16: return "bfloat16";
    default: return "float";
  }
}

std::vector<uint64_t> bench_sizes(const BenchOptions& o) {
  std::vector<uint64_t> out;
  const auto es = static_cast<uint64_t>(core::size_of(o.dtype));
  double b = static_cast<double>(std::max<uint64_t>(o.min_bytes, es));
  for (int guard = 0; guard < 4096 && b <= static_cast<double>(o.max_bytes) * (1 + 1e-12); ++guard) {
    uint64_t s = static_cast<uint64_t>(std::llround(b)) / es * es;
    if (out.empty() || s > out.back()) out.push_back(s);
    if (o.factor <= 1) break;
    b *= o.factor;
  }
  return out;
}

core::Program bench_program(BenchKind k, int ranks, uint64_t bytes, int steps, core::Algorithm algorithm,
                            core::DType dtype) {
  core::Program p;
  p.name = fmt::format("bench-{}", name(k));
  p.steps = steps;
  p.groups = {{}};
  for (int r = 0; r < ranks; ++r) p.groups[0].push_back(r);
  for (int r = 0; r < ranks; ++r) {
    auto& ops = p.ranks.emplace_back(core::RankProgram{r, {}}).ops;
    for (int s = 0; s < steps; ++s) {
      std::vector<uint32_t> after_last;
      if (!ops.empty()) after_last = {static_cast<uint32_t>(ops.size() - 1)};
      core::Op op;
      op.phase = core::Phase::Comm;
      op.step = s;
      op.tag = s;
      op.bytes = static_cast<double>(bytes);
      op.deps = after_last;
      if (k == BenchKind::SendRecv) {
        op.kind = core::OpKind::Send;
        op.label = "bench.send";
        op.peer = (r + 1) % ranks;
        ops.push_back(op);
        op.kind = core::OpKind::Recv;
        op.label = "bench.recv";
        op.peer = (r + ranks - 1) % ranks;
        // Same deps as the send: the stream still runs it second, but the send drains the
        // incoming message meanwhile (data_plane.h), so both directions move at once.
        ops.push_back(op);
        continue;
      }
      op.kind = core::OpKind::Collective;
      op.label = fmt::format("bench.{}", name(k));
      op.algorithm = algorithm;
      op.dtype = dtype;
      op.collective = k == BenchKind::AllReduce   ? core::CollectiveKind::AllReduce
                      : k == BenchKind::AllGather ? core::CollectiveKind::AllGather
                                                  : core::CollectiveKind::ReduceScatter;
      op.group = 0;
      ops.push_back(op);
    }
  }
  return p;
}

double step_time(const std::vector<core::OpRecord>& records, const core::Program& p, int step) {
  std::map<int, std::pair<double, double>> per_rank;  // rank -> first start, last end of the step
  for (const auto& r : records) {
    if (p.ranks.at(r.rank).ops.at(r.op).step != step) continue;
    auto [it, fresh] = per_rank.try_emplace(r.rank, r.start, r.end);
    if (!fresh) it->second = {std::min(it->second.first, r.start), std::max(it->second.second, r.end)};
  }
  double last_in = -1e300, last_out = -1e300;
  for (const auto& [rank, se] : per_rank) {
    last_in = std::max(last_in, se.first);
    last_out = std::max(last_out, se.second);
  }
  return per_rank.empty() ? 0 : std::max(0.0, last_out - last_in);
}

namespace {
topo::Topology bench_topology(int ranks) {
  topo::Topology t;
  t.name = "bench-local";
  for (int r = 0; r < ranks; ++r) {
    topo::Node n;
    n.name = fmt::format("rank{}", r);
    n.address = "127.0.0.1";
    n.device = topo::Device{};
    t.nodes.push_back(n);
  }
  return t;
}

int count_wrong(const std::string& message) {
  int n = 0;
  for (size_t at = message.find("gave a wrong result"); at != std::string::npos;
       at = message.find("gave a wrong result", at + 1))
    ++n;
  return n;
}
}  // namespace

BenchRunner bench_runner(const Launch& how, const RunSettings& s, std::shared_ptr<const topo::Topology> topology) {
  if (!topology) topology = std::make_shared<const topo::Topology>(bench_topology(std::get<launch::Local>(how).ranks));
  return [how, s, topology](const core::Program& p) { return run(p, *topology, how, s); };
}

namespace {
// Median over the timed steps of step_time.
double median_time(const std::vector<core::OpRecord>& records, const core::Program& p, int warmup, int steps) {
  std::vector<double> t;
  for (int s = warmup; s < steps; ++s) t.push_back(step_time(records, p, s));
  std::sort(t.begin(), t.end());
  return t.empty() ? 0 : t[t.size() / 2];
}
}  // namespace

std::vector<BenchRow> run_bench(const BenchOptions& o, const BenchRunner& runner,
                                const std::function<void(const BenchRow&)>& on_row, const BenchPredictor& predict,
                                const BenchPredictor& presets) {
  std::vector<BenchRow> rows;
  const int steps = o.warmup + o.iters;
  for (uint64_t bytes : bench_sizes(o)) {
    BenchRow row;
    row.bytes = bytes;
    row.count = bytes / static_cast<uint64_t>(core::size_of(o.dtype));
    core::Program p = bench_program(o.kind, o.ranks, bytes, steps, o.algorithm, o.dtype);
    auto busbw = [&](double seconds) { return seconds > 0 ? bytes / seconds / 1e9 * busbw_factor(o.kind, o.ranks) : 0; };
    if (runner) {
      try {
        auto run = runner(p);
        row.time_s = median_time(run.records, p, o.warmup, steps);
        if (row.time_s > 0) row.algbw = static_cast<double>(bytes) / row.time_s / 1e9;
        row.busbw = busbw(row.time_s);
      } catch (const RunError& e) {
        row.error = e.what();
        row.wrong = count_wrong(row.error);
        if (row.wrong == 0) row.wrong = -1;  // failed without a wrong result: the run broke
      }
    }
    if (predict) {
      const double t = median_time(predict(p), p, o.warmup, steps);
      if (runner) {
        row.predicted_s = t;
        row.predicted_busbw = busbw(t);
      } else {  // --predict-only: the prediction is the table
        row.time_s = t;
        if (t > 0) row.algbw = static_cast<double>(bytes) / t / 1e9;
        row.busbw = busbw(t);
      }
    }
    if (presets) row.presets_s = median_time(presets(p), p, o.warmup, steps);
    if (on_row) on_row(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string bench_header(const BenchOptions& o, std::string_view launch) {
  std::string h;
  h += fmt::format("# clustertwin bench {} ({}): {} ranks, {}, {} warm-up + {} timed iterations per size, median shown\n",
                   name(o.kind), software_version(), o.ranks, launch, o.warmup, o.iters);
  h += fmt::format("# algorithm {}; busbw = algbw x {:.4f} ({}){}\n",
                   o.kind == BenchKind::SendRecv ? "direct" : core::name(o.algorithm), busbw_factor(o.kind, o.ranks),
                   o.kind == BenchKind::AllReduce   ? "2(n-1)/n"
                   : o.kind == BenchKind::SendRecv ? "1"
                                                   : "(n-1)/n",
                   o.predict_only ? "" : "; every result checked on every rank");
  if (o.predict_only)
    h += "# predicted only: the simulator's time for each size's Program on the topology; no worker ran, nothing "
         "was checked (#wrong -)\n";
  if (o.predicted) h += "# predicted: the simulator's time for the same Program on the topology (same median)\n";
  if (o.predicted_presets) h += "# presets: the same prediction on the preset figures, without the calibration\n";
  h += "#\n";
  auto extra = [&o](const char* a, const char* b, const char* c) {
    return (o.predicted ? fmt::format(" {:>10} {:>8}", a, b) : "") + (o.predicted_presets ? fmt::format(" {:>10}", c) : "");
  };
  h += fmt::format("# {:>12} {:>12} {:>6} {:>10} {:>8} {:>8} {:>7}{}\n", "size", "count", "type", "time", "algbw", "busbw",
                   "#wrong", extra("predicted", "busbw", "presets"));
  h += fmt::format("# {:>12} {:>12} {:>6} {:>10} {:>8} {:>8} {:>7}{}\n", "(B)", "(elements)", "", "(us)", "(GB/s)", "(GB/s)",
                   "", extra("(us)", "(GB/s)", "(us)"));
  return h;
}

std::string bench_row_text(const BenchRow& r, const BenchOptions& o) {
  std::string pred;
  if (o.predicted && r.predicted_s > 0)
    pred = fmt::format(" {:>10.1f} {:>8.3f}", r.predicted_s * 1e6, r.predicted_busbw);
  else if (o.predicted)
    pred = fmt::format(" {:>10} {:>8}", "-", "-");
  if (o.predicted_presets) pred += r.presets_s > 0 ? fmt::format(" {:>10.1f}", r.presets_s * 1e6) : fmt::format(" {:>10}", "-");
  if (!r.error.empty())
    return fmt::format("  {:>12} {:>12} {:>6} {:>10} {:>8} {:>8} {:>7}{}\n# size {} failed: {}\n", r.bytes, r.count,
                       type_name(o.dtype), "-", "-", "-", r.wrong < 0 ? std::string("N/A") : std::to_string(r.wrong), pred,
                       r.bytes, r.error);
  return fmt::format("  {:>12} {:>12} {:>6} {:>10.1f} {:>8.3f} {:>8.3f} {:>7}{}\n", r.bytes, r.count, type_name(o.dtype),
                     r.time_s * 1e6, r.algbw, r.busbw, o.predict_only ? std::string("-") : std::to_string(r.wrong), pred);
}

std::string bench_footer(const std::vector<BenchRow>& rows) {
  bool ok = std::all_of(rows.begin(), rows.end(), [](const BenchRow& r) { return r.error.empty(); });
  double sum = 0;
  int n = 0;
  for (const auto& r : rows)
    if (r.error.empty()) {
      sum += r.busbw;
      ++n;
    }
  return fmt::format("# Out of bounds values : {} {}\n# Avg bus bandwidth    : {:.3f}\n#\n# {}\n",
                     ok ? 0 : static_cast<int>(rows.size()) - n, ok ? "OK" : "FAILED", n ? sum / n : 0.0,
                     ok ? "OK" : "FAILED");
}

nlohmann::json bench_json(const BenchOptions& o, const std::vector<BenchRow>& rows, std::string_view launch) {
  nlohmann::ordered_json j;
  j["benchmark"] = name(o.kind);
  j["version"] = software_version();
  j["ranks"] = o.ranks;
  j["launch"] = launch;
  j["algorithm"] = o.kind == BenchKind::SendRecv ? "direct" : core::name(o.algorithm);
  j["type"] = type_name(o.dtype);
  j["busbw_factor"] = busbw_factor(o.kind, o.ranks);
  j["warmup"] = o.warmup;
  j["iters"] = o.iters;
  if (o.predict_only) j["predicted_only"] = true;
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json row{{"size_bytes", r.bytes}, {"count", r.count}, {"type", type_name(o.dtype)}, {"time_us", r.time_s * 1e6},
                               {"algbw_gbps", r.algbw}, {"busbw_gbps", r.busbw}};
    if (!o.predict_only) row["wrong"] = r.wrong;
    if (r.predicted_s > 0) {
      row["predicted_time_us"] = r.predicted_s * 1e6;
      row["predicted_busbw_gbps"] = r.predicted_busbw;
    }
    if (r.presets_s > 0) row["presets_time_us"] = r.presets_s * 1e6;
    if (!r.error.empty()) row["error"] = r.error;
    j["rows"].push_back(row);
  }
  j["ok"] = std::all_of(rows.begin(), rows.end(), [](const BenchRow& r) { return r.error.empty(); });
  return nlohmann::json::parse(j.dump());
}

std::optional<uint64_t> parse_size(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t mult = 1;
  char last = text.back();
  if (last == 'K' || last == 'k') mult = 1ull << 10;
  if (last == 'M' || last == 'm') mult = 1ull << 20;
  if (last == 'G' || last == 'g') mult = 1ull << 30;
  if (mult != 1) text.remove_suffix(1);
  if (text.empty() || text.size() > 15 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(std::string(text)) * mult;
}

}  // namespace clustertwin::exec
