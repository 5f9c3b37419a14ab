// `clustertwin bench`: collective throughput in the nccl-tests format (STYLE.md point 10). Each
// size is one Program of repeated collectives run by the ordinary executor — same workers,
// handshake, data plane and result checks as `run` — so the table measures what a run would see.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/program.h"
#include "exec/executor.h"

namespace clustertwin::exec {

enum class BenchKind { AllReduce, AllGather, ReduceScatter, SendRecv };
std::optional<BenchKind> bench_kind(std::string_view name);  // "allreduce", ...
std::string_view name(BenchKind k);
// nccl-tests' bus bandwidth factors (doc/PERFORMANCE.md): all-reduce 2(n-1)/n, all-gather and
// reduce-scatter (n-1)/n, send/recv 1. busbw = algbw x factor, comparable with link speed.
double busbw_factor(BenchKind k, int ranks);

struct BenchOptions {
  BenchKind kind = BenchKind::AllReduce;
  int ranks = 2;
  uint64_t min_bytes = 8, max_bytes = 64ull << 20;
  double factor = 2;  // sizes min, min*f, min*f^2, ... <= max
  int iters = 20;     // timed iterations per size (the median is shown)
  int warmup = 5;     // untimed iterations before them (checked all the same)
  bool predicted = false;  // rows carry the simulator's time for the same Program (a column more)
  bool predicted_presets = false;  // and its time on the preset figures, beside a calibrated one
  // No workers: the simulator's time is the table's time (run_bench without a runner).
  bool predict_only = false;
  core::Algorithm algorithm = core::Algorithm::Ring;  // collectives only (work::unsupported checks the pair)
  core::DType dtype = core::DType::F32;               // fp32, bf16 or fp16 (16-bit: added in fp32)
};

// nccl-tests' type names: "float", "half", "bfloat16".
std::string_view type_name(core::DType d);

// Runs one size's Program however the workers start (exec::run) and returns its records; throws
// RunError when the run fails.
using BenchRunner = std::function<MeasuredRun(const core::Program&)>;
// The simulator's records for the same Program (cli/ passes sim::simulate on the topology: exec/
// never includes sim/).
using BenchPredictor = std::function<std::vector<core::OpRecord>(const core::Program&)>;
// exec::run of each size's Program as `how` says, on `topology`; null with launch::Local (which
// must then give its ranks): a topology of that many ranks on loopback is made up.
BenchRunner bench_runner(const Launch& how, const RunSettings& s, std::shared_ptr<const topo::Topology> topology);

// The sizes a sweep visits: whole elements of o.dtype, strictly increasing.
std::vector<uint64_t> bench_sizes(const BenchOptions& o);
// One size's Program: warmup + iters steps, one collective (or one send to the next rank and one
// receive from the previous) per step, each step after the previous on every rank.
core::Program bench_program(BenchKind k, int ranks, uint64_t bytes, int steps,
                            core::Algorithm algorithm = core::Algorithm::Ring, core::DType dtype = core::DType::F32);

struct BenchRow {
  uint64_t bytes = 0;
  uint64_t count = 0;         // elements of the dtype
  double time_s = 0;          // median over the timed iterations
  double algbw = 0, busbw = 0;  // GB/s (decimal)
  int wrong = 0;              // ranks whose result check failed (the size stops at the first failure)
  std::string error;          // why the size failed, when it did
  double predicted_s = -1;    // the simulator's median for the same iterations; -1: not predicted
  double predicted_busbw = 0;  // GB/s
  double presets_s = -1;       // the simulator's median on the uncalibrated topology; -1: not asked
};

// The iteration time: from the last rank entering the step to the last rank leaving it (what a
// collective costs once every member is there; the result checks between steps are outside).
double step_time(const std::vector<core::OpRecord>& records, const core::Program& p, int step);

// Runs every size, calling on_row as each finishes (the table streams). Never throws for a failed
// size: its row carries the error. `presets`: the same prediction without the calibration, so the
// table shows what probing buys.
std::vector<BenchRow> run_bench(const BenchOptions& o, const BenchRunner& runner,
                                const std::function<void(const BenchRow&)>& on_row, const BenchPredictor& predict = {},
                                const BenchPredictor& presets = {});

// The table, nccl-tests style: '#' lines, a units row, data rows, an OK/FAILED footer.
std::string bench_header(const BenchOptions& o, std::string_view launch);
std::string bench_row_text(const BenchRow& r, const BenchOptions& o);
std::string bench_footer(const std::vector<BenchRow>& rows);
nlohmann::json bench_json(const BenchOptions& o, const std::vector<BenchRow>& rows, std::string_view launch);

// "8", "1K", "128M", "1G" (binary multiples, as nccl-tests reads -b/-e). nullopt when malformed.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace clustertwin::exec
