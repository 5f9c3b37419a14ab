// The one decomposition of collectives into point-to-point steps, shared by both backends: the
// simulator prices each step, the executor moves and reduces real bytes by the same plan.
//
// Plans are lockstep: every member of the group gets a plan of the same length, and a chunk sent
// at step s is received by its peer at its step s: a backend identifies a message by (collective
// tag, step index). A member with nothing to do in a step has an idle step (both peers -1, empty
// chunks). Within one step the chunk sent and the chunk received never overlap, so a backend may
// send and receive at once from the same buffer (out-of-place steps, `into_output`, receive into a
// second buffer instead: all-to-all and one-shot). A backend that merges consecutive steps with the
// same peers into one message must keep the step index of the first as the message's id and may
// only merge where the peer merges the same steps: true of ring plans (every member's peers are the
// same throughout), not of tree or halving-doubling plans; idle steps carry nothing and can be
// skipped.
//
// Lanes. A plan may interleave L independent rings ("lanes"): step s belongs to lane s mod L (every
// lane has the same number of steps). Lanes touch disjoint parts of the buffer and never wait on
// each other, so a backend runs them at once (the simulator as L concurrent transfer sequences, the
// executor a round of L consecutive steps at a time); a backend that ran them one after another
// would still compute the right result. A lane's steps may be merged like a ring's. `channel` says
// which of the parallel connections between a pair carries the step: the simulator puts channel c
// on the c-th of the parallel links joining each hop's two nodes (mod their number), so striping
// only helps where the topology has several cables. Plans of one lane have lane = channel = 0.
//
// Algorithms (n members, S bytes per rank; "sent" = bytes one rank sends):
//   ring              all-reduce = reduce-scatter + all-gather, 2(n-1) steps of S/n: sent 2(n-1)/n·S;
//                     reduce-scatter and all-gather alone (n-1)/n·S.
//   tree              a binary tree over the group in heap order rooted at the root (all-reduce:
//                     the first member), the buffer cut into K pipeline chunks: reduce up the
//                     tree, then broadcast down (not overlapped), every round in two half-steps
//                     (left child, right child). All-reduce: 4(K+D) steps, D the tree depth; a
//                     leaf sends S, the root 2S, an inner node 3S. Latency O(log n), for small
//                     buffers. Also broadcast and reduce alone. (Not NCCL's double binary tree:
//                     one tree, so inner nodes carry 3S where the double tree balances 2S.)
//   halving-doubling  recursive halving reduce-scatter then recursive doubling all-gather
//                     (Rabenseifner; Thakur et al. 2005): 2·log2(p) steps, sent 2(p-1)/p·S for n = p
//                     a power of two. Otherwise the first 2r ranks (r = n - p, p the largest power of
//                     two below n) pair up: the even one hands its buffer to the odd one before,
//                     and gets the result after (the even ones send S and receive S only).
//   direct            every pair exchanges directly: reduce-scatter sends chunk j to member j,
//                     all-gather sends the own chunk to every member; all-reduce = both; bytes as
//                     ring but n-1 distinct peers. Broadcast / reduce: the root to / from each
//                     member in turn. All-to-all: chunk j to member j (step k: to i+k, from i-k).
//   hierarchical      the group in blocks of `local` consecutive members: ring reduce-scatter
//                     inside each block, ring all-reduce of the owned 1/local across blocks (between
//                     members with the same block position), ring all-gather inside the block.
//                     Sent: 2(L-1)/L·S + 2(G-1)/G·S/L (L = local, G = n/L).
//   bidirectional-ring  all-reduce only: the buffer in two halves, a ring all-reduce of each, one
//                     clockwise (to position i+1) and one counter-clockwise (to i-1), as two lanes;
//                     every step sends S/2n to each neighbour and receives as much from each, so on
//                     full-duplex links each direction of each cable carries half a ring's bytes:
//                     sent 2(n-1)/n·S in all, in half the time. MLX's ring (mlx/distributed/ring).
//   one-shot          all-reduce only: n-1 steps; step k sends the whole input to member i+k and adds
//                     the whole input of member i-k into the output (out of place: the output starts
//                     as the own input and is the result). Sent (n-1)·S, but one step for 2 members
//                     where ring takes 2: what a tensor-parallel decode's small all-reduce wants.
//   stripes k         (ring and bidirectional-ring all-reduce) each direction's part again in k,
//                     one lane per stripe on channel c = 0..k-1: MLX's several connections per
//                     neighbour, one per cable. Lanes = k (ring) or 2k (bidirectional, lane 2c
//                     clockwise and 2c+1 counter-clockwise on channel c).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/program.h"

namespace clustertwin::work {

// A contiguous range of elements of the collective's buffer.
struct Chunk {
  int64_t offset = 0;
  int64_t count = 0;
};

// One step of one rank: send `send` to `send_to` while receiving `recv` from `recv_from`; the
// received elements are then added into the buffer (`reduce`) or copied over it. A one-sided step
// (a tree leaf sends only, a root receives only) has -1 for the missing peer. All-to-all is out of
// place: received chunks land in a second buffer of the same size (`into_output`), and each rank's
// own chunk is copied there locally (no step). One-shot all-reduce is out of place too: the output
// starts as the whole own buffer, received buffers are added into it, and it is the result.
struct P2PStep {
  int32_t send_to = -1;
  Chunk send;
  int32_t recv_from = -1;
  Chunk recv;
  bool reduce = false;
  bool into_output = false;
  int16_t lane = 0;     // which of the plan's interleaved lanes (step index mod lanes)
  int16_t channel = 0;  // which of the parallel connections between the pair carries it
};

struct CollectiveSpec {
  core::CollectiveKind kind = core::CollectiveKind::AllReduce;
  core::Algorithm algorithm = core::Algorithm::Ring;
  int32_t root = -1;   // broadcast/reduce: a member rank; -1 = the group's first member
  int32_t local = 0;   // hierarchical: members per block
  int32_t stripes = 0; // ring, bidirectional-ring all-reduce: rings per direction (0 = 1)
};

// The number of interleaved lanes of `spec`'s plans (1 for all but striped and bidirectional rings).
int lanes_of(const CollectiveSpec& spec);

// The steps `rank` runs, in order, for a collective over `group` of a buffer of `count` elements
// on every rank. Throws std::invalid_argument for an unsupported kind/algorithm pair, a bad root
// or local size, or a rank outside the group.
std::vector<P2PStep> plan_collective(const CollectiveSpec& spec, const std::vector<int32_t>& group, int32_t rank,
                                     int64_t count);
// The same with the op's kind, algorithm, root and local size (what backends should call).
std::vector<P2PStep> plan_collective(const core::Op& op, const std::vector<int32_t>& group, int32_t rank,
                                     int64_t count);
// Default root and no local size (hierarchical throws: it needs the op's `local`).
std::vector<P2PStep> plan_collective(core::CollectiveKind kind, core::Algorithm algorithm,
                                     const std::vector<int32_t>& group, int32_t rank, int64_t count);

// The elements `rank` holds the result of after a reduce-scatter, and holds before an
// all-gather (what it contributes), under the plan of `spec`. For all other kinds the whole buffer.
Chunk owned_chunk(const CollectiveSpec& spec, const std::vector<int32_t>& group, int32_t rank, int64_t count);

// The pipeline chunks a tree plan cuts `count` elements into: one per 256 Ki elements (1 MiB of
// fp32), at least 1, at most 32.
int tree_pipeline_chunks(int64_t count);

// Which (kind, algorithm) pairs plan_collective supports, for input validation: "" when
// supported, else why not ("tree does not implement reducescatter; use ring, ...").
std::string unsupported(core::CollectiveKind kind, core::Algorithm algorithm);

// The distinct peers `rank` exchanges with in `plan` (idle and one-sided -1 excluded).
std::vector<int32_t> peers_of(const std::vector<P2PStep>& plan);

}  // namespace clustertwin::work
