// The Program IR: one op DAG per rank, the contract both backends (sim/, exec/) interpret with the
// same semantics. See docs/ARCHITECTURE.md for the semantics of deps, messages and collectives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace clustertwin::core {

enum class OpKind : uint8_t { Compute, Send, Recv, Collective };
enum class Phase : uint8_t { Forward, Backward, Optimizer, Reduce, Prefill, Decode, Comm, Other };
enum class CollectiveKind : uint8_t { AllReduce, AllGather, ReduceScatter, Broadcast, Reduce, AllToAll };
// Tree = pipelined binary tree (reduce up, broadcast down); HalvingDoubling = recursive halving
// reduce-scatter and recursive doubling all-gather (Rabenseifner); Hierarchical = inside blocks of
// `Op::local` consecutive members, then across blocks; BidirectionalRing = the buffer in two halves,
// one ring each way round (MLX's ring). See workloads/collectives.h.
// OneShot = every member sends its whole buffer to every other and adds what it receives (one
// exchange for two members: the small-message all-reduce of tensor-parallel decode).
enum class Algorithm : uint8_t { Ring, Tree, Direct, HalvingDoubling, Hierarchical, BidirectionalRing, OneShot };
// I4 packs two values per byte: size_of(I4) is 1 (the storage unit), bytes_per_element 0.5.
enum class DType : uint8_t { F32, BF16, F16, I8, I4 };

std::string_view name(OpKind);
std::string_view name(Phase);
std::string_view name(CollectiveKind);
std::string_view name(Algorithm);
std::string_view name(DType);
int size_of(DType);
double bytes_per_element(DType);  // 0.5 for I4, else size_of

// A matrix product m×k · k×n the executor runs for real compute; `count` repeats it.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0, count = 0;
};

struct Op {
  OpKind kind = OpKind::Compute;
  Phase phase = Phase::Other;
  int32_t step = 0;  // training step or generated token
  std::string label;
  // compute: FLOPs and bytes of memory touched (roofline); send/recv/collective: payload bytes
  // (for a collective, the size of each rank's buffer).
  double flops = 0;
  double bytes = 0;
  GemmShape gemm;      // compute only
  int32_t peer = -1;   // send/recv: the other rank
  int32_t tag = 0;     // send/recv: matched by (src, dst, tag); collective: instance id shared by its group
  CollectiveKind collective = CollectiveKind::AllReduce;
  Algorithm algorithm = Algorithm::Ring;
  DType dtype = DType::F32;
  int32_t group = -1;  // collective: index into Program::groups
  int32_t root = -1;   // broadcast/reduce: the root rank (-1 = the group's first member)
  int32_t local = 0;   // hierarchical collective: members per block (consecutive in the group)
  // ring / bidirectional-ring all-reduce: rings per direction, each on its own connection (MLX's
  // several sockets per neighbour); a backend carries stripe c over the c-th of the parallel links
  // between a pair. 0 or 1 = one.
  int32_t stripes = 0;
  std::vector<uint32_t> deps;  // indices of earlier ops of the same rank
  // Seconds of fixed software cost the runtime adds to the op (workloads/runtimes.h): kernel
  // launches of a compute op, the synchronisation and call of a collective, the serving stack's
  // cost of a message. Predictions charge it; the executor, its own runtime, is measured instead.
  double overhead = 0;
};
// JSON: compute ops write "dtype" only when not fp32; collectives write "root", "local" and
// "stripes" only when set, and any op "overhead" only when not 0, so Programs without them keep
// their JSON and hash.

struct RankProgram {
  int32_t rank = 0;
  std::vector<Op> ops;
};

// What a rank must hold in memory for the Program (bytes), and what its device allows.
struct MemoryUse {
  double weights = 0, gradients = 0, optimizer = 0, activations = 0, kv_cache = 0, buffers = 0;
  double capacity = 0;  // usable bytes on the rank's device (0 = unknown)
  double total() const { return weights + gradients + optimizer + activations + kv_cache + buffers; }
};

struct Program {
  std::string name;
  int32_t steps = 1;
  double samples_per_step = 0;  // whole cluster
  double tokens_per_step = 0;   // whole cluster
  std::vector<std::vector<int32_t>> groups;  // rank groups of collectives, shared to stay compact
  std::vector<RankProgram> ranks;
  // The node (by name) of each rank when the workload chose a placement (`placement:`); empty = the
  // topology's file order. Part of what runs (and of program_hash): both backends put rank i on
  // placement[i] (topo::place), so a predicted and a measured run of one Program agree on it.
  std::vector<std::string> placement;
  // Optional metadata, not part of what runs (excluded from program_hash): memory per rank, and for
  // inference the number of leading prefill steps (the rest decode one token per sequence each)
  // and the prompt tokens they process.
  std::vector<MemoryUse> memory;
  int32_t prefill_steps = 0;
  double prefill_tokens = 0;  // inference: prompt tokens the prefill steps process, whole cluster

  int32_t world() const { return static_cast<int32_t>(ranks.size()); }
};

// Throws std::invalid_argument naming the rank and op when the Program breaks an IR rule:
// deps must point to earlier ops, peers and groups must exist, sends and recvs must pair up,
// every member of a collective's group must hold that collective.
void validate(const Program& p);

nlohmann::json to_json(const Program& p);
Program program_from_json(const nlohmann::json& j);  // throws std::invalid_argument
// Stable 64-bit FNV-1a of the canonical JSON without the metadata (memory), as 16 hex digits;
// equal Programs hash equal.
std::string program_hash(const Program& p);

}  // namespace clustertwin::core
