// `clustertwin probe`: measures the figures the simulator takes from presets, with the executor's
// own transport and kernels, and turns them into a calibration overlay (topologies/calibration.h).
// Every measurement is an ordinary Program run by exec::run — the same workers, handshake and data
// plane as `run` and `bench` — so the figures describe what a run will see:
// - per rank pair that talks over one link, over switches only, or across one software forwarder:
//   ping-pong time per size, a fit time = fixed + bytes / goodput, streaming goodput of one flow
//   each way and of both directions at once;
// - per node with a device: GEMM rate (CBLAS sgemm) and memory bandwidth (a streaming pass), one
//   node after the other so ranks sharing a machine do not share its cores while measured.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/program.h"
#include "exec/executor.h"
#include "topologies/calibration.h"
#include "topologies/topology.h"

namespace clustertwin::exec {

// The spread of repeated measurements of one figure.
struct Spread {
  double min = 0, median = 0, max = 0;
  int n = 0;
};
Spread spread_of(std::vector<double> values);

// time = fixed_s + bytes / bytes_per_s, fitted by least squares with each point weighted 1/t: between
// plain least squares (the 64 MiB points alone set the line, the intercept is noise) and relative
// residuals (weights 1/t², the many small points set the slope when the curve bends, as a token-bucket
// shaper's burst makes it). Residuals are reported relative to each point's time.
struct LineFit {
  double fixed_s = 0;       // may come out below 0 when the curve bends (the residual then says so)
  double bytes_per_s = 0;  // 0 when the slope is not positive (no size moved bytes measurably)
  double rms_relative = 0;  // root mean square of (fit - t) / t
  double max_relative = 0;  // largest |fit - t| / t
  int points = 0;
};
// Throws std::invalid_argument for fewer than 2 points, mismatched sizes or a time <= 0.
LineFit fit_line(const std::vector<double>& bytes, const std::vector<double>& seconds);

inline constexpr uint64_t kSmall = 4096;
inline constexpr uint64_t kFixedBytes = 1024;  // ping-pongs up to this size calibrate the fixed cost

struct ProbeOptions {
  std::vector<uint64_t> sizes;  // ping-pong sizes
  int rounds = 5;               // timed ping-pongs per size (after one untimed); sizes up to
                                // kSmall get 4x as many, after 4 untimed: they are cheap and noisy
  uint64_t stream_bytes = 256ull << 20;  // per streaming measurement, in stream_messages messages
  int stream_messages = 8;
  int stream_rounds = 3;        // timed streams per direction (after one untimed)
  int gemm_n = 1024;            // square sgemm of this size, gemm_count of them per measurement
  int gemm_count = 4;
  uint64_t memory_bytes = 1ull << 30;  // read + written by one memory measurement
  int device_rounds = 3;
  double budget_s = 900;  // no new pair starts after this many seconds (the result says which were skipped)
  // Slow links (Wi-Fi, a shaped emulation) would make 64 MiB messages and 256 MiB streams take
  // minutes: a scout ping-pong of scout_bytes first estimates the goodput, and sized_for() drops the
  // sizes whose one-way time would pass max_message_s and shortens streams to about stream_s.
  uint64_t scout_bytes = 1ull << 20;
  double max_message_s = 1;
  double stream_s = 2;

  static ProbeOptions standard();  // 8 B .. 64 MiB (x4), 5 rounds
  static ProbeOptions quick();     // 8 B .. 4 MiB (x8), 3 rounds, smaller streams and kernels
};

// `o` for a pair whose scout measured `goodput` bytes/s: sizes up to scout_bytes always, larger
// ones while size / goodput <= max_message_s; streams of goodput x stream_s (at least 1 MiB, at
// most o.stream_bytes), in whole messages. `dropped` gets the sizes left out.
ProbeOptions sized_for(const ProbeOptions& o, double goodput, std::vector<uint64_t>* dropped = nullptr);

enum class PairKind {
  Direct,     // one link: calibrates that link's two directions
  Switched,   // crosses switches only (hardware, line rate): calibrates each hop the route crosses
  Forwarded,  // crosses one node forwarding in software: its cost beyond the sum of the hops
};
std::string_view name(PairKind k);

// A pair of nodes to measure, with the ranks standing for them (the first rank of each node).
struct ProbePair {
  int a = -1, b = -1;            // nodes
  int rank_a = -1, rank_b = -1;  // ranks
  PairKind kind = PairKind::Direct;
  std::vector<int> route;   // nodes a -> b, ends included
  int forwarder = -1;       // Forwarded: the software forwarder crossed
};
// Every pair to measure on `t`, in the order measured: pairs over one link, pairs over switches
// only, then one pair per software forwarder (the first whose hops are all measured).
std::vector<ProbePair> probe_pairs(const topo::Topology& t);

struct PairResult {
  ProbePair pair;
  std::vector<uint64_t> sizes;
  std::vector<Spread> one_way;  // seconds per size: half the ping-pong round trip
  LineFit fit;                  // over every timed point (a diagnostic: its residual says how linear)
  // The per-message fixed cost (overheads + latency), as calibrated: the median over the ping-pongs
  // up to kFixedBytes (at least the smallest size) of the one-way time less its bytes at the
  // streams' goodput. A token-bucket shaper or the caches make
  // the curve bend (small messages pass at line rate), which pulls a fitted intercept off.
  double fixed_s = 0;
  Spread stream_ab, stream_ba;  // bytes/s, one flow
  // bytes/s per direction, both flowing at once: each direction's bytes over its receiver's span.
  // A rank runs its sends and receives as one stream in program order, so its last receive ends
  // no sooner than its own sends: when one direction is faster, it reads as fast as the slower one
  // (a lower bound); the slower direction's figure is exact.
  Spread both_ab, both_ba;
  std::string error;            // the run failed: why (no figures then)
};

struct DeviceResult {
  int node = -1, rank = -1;
  Spread flops;             // FLOP/s of sgemm
  Spread memory_bandwidth;  // bytes/s read + written
};

struct ProbeResult {
  std::vector<PairResult> pairs;
  std::vector<DeviceResult> devices;
  std::string device_error;        // the device run failed: why
  std::vector<std::string> notes;  // pairs skipped for the time budget, figures not derived and why
  double seconds = 0;              // wall time of the whole probe
};

// Runs one Program on the cluster with the given compute mode (network Programs have no compute).
using ProbeRunner = std::function<MeasuredRun(const core::Program&, ComputeMode)>;
// exec::run as `how` says on `topology`, with `s` (its compute mode replaced per Program).
ProbeRunner probe_runner(const Launch& how, const RunSettings& s, const topo::Topology& topology);

// The Programs probe runs (public for tests): one per pair, one for the devices.
core::Program pair_program(int world, const ProbePair& pair, const ProbeOptions& o);
core::Program device_program(const topo::Topology& t, const ProbeOptions& o);

// Measures every pair, then the devices, calling progress with a line as each piece starts and ends.
ProbeResult run_probe(const topo::Topology& t, const ProbeOptions& o, const ProbeRunner& runner,
                      const std::function<void(const std::string&)>& progress);

// The calibration the result implies, each figure stamped with `when` (topologies/calibration.h):
// per link direction the one-flow goodput, and the fixed cost (PairResult::fixed_s) split into the link's overhead (the
// topology's, capped at half the fixed cost: timing alone cannot tell the two apart) and latency;
// per forwarder what its route costs beyond its hops; per device its sgemm rate and memory bandwidth.
topo::Calibration to_calibration(const topo::Topology& t, const ProbeResult& r, const topo::Provenance& when,
                                 std::vector<std::string>* notes = nullptr);

// The human-readable tables: per pair fixed cost, goodputs with their spread, fit residual; per
// device its rates.
std::string probe_report(const topo::Topology& t, const ProbeResult& r);

// Now, UTC, ISO 8601 ("2026-12-03T14:05:00Z").
std::string utc_now();

}  // namespace clustertwin::exec
