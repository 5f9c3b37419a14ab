#include "workloads/collectives.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include <fmt/format.h>

namespace clustertwin::work {

namespace {
using core::CollectiveKind;

int mod(int a, int n) { return ((a % n) + n) % n; }

// Piece c of n near-equal pieces of `region` (integer division of the boundaries).
Chunk piece(Chunk region, int n, int c) {
  int64_t lo = region.count * c / n, hi = region.count * (c + 1) / n;
  return {region.offset + lo, hi - lo};
}

constexpr P2PStep kIdle{};

// ---- ring -------------------------------------------------------------------------------------
// `g` are the ring's members in order, i this rank's position, `region` the part of the buffer.

// Ring reduce-scatter: after n-1 steps position i holds the full reduction of piece (i+1) mod n.
void ring_reduce_scatter(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, Chunk region) {
  int n = static_cast<int>(g.size());
  for (int s = 0; s < n - 1; ++s)
    out.push_back({g[mod(i + 1, n)], piece(region, n, mod(i - s, n)), g[mod(i - 1, n)],
                   piece(region, n, mod(i - s - 1, n)), true});
}

// Ring all-gather where position i starts owning piece (i + first) mod n.
void ring_all_gather(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, Chunk region, int first) {
  int n = static_cast<int>(g.size());
  for (int s = 0; s < n - 1; ++s)
    out.push_back({g[mod(i + 1, n)], piece(region, n, mod(i + first - s, n)), g[mod(i - 1, n)],
                   piece(region, n, mod(i + first - s - 1, n)), false});
}

// ---- lanes: bidirectional and striped rings -----------------------------------------------------
// L independent ring all-reduces over the L pieces of the buffer, interleaved step by step (step s
// of the plan is step s / L of lane s mod L). Lane l goes clockwise unless `both_ways` and l is
// odd; it runs on channel l / 2 (both ways) or l.
void ring_lanes(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, int64_t count, int lanes,
                bool both_ways) {
  const int n = static_cast<int>(g.size());
  std::vector<int32_t> reversed(g.rbegin(), g.rend());
  std::vector<std::vector<P2PStep>> plans(lanes);
  for (int l = 0; l < lanes; ++l) {
    const bool back = both_ways && l % 2 == 1;
    const Chunk region = piece({0, count}, lanes, l);
    const auto& ring = back ? reversed : g;
    const int at = back ? n - 1 - i : i;
    ring_reduce_scatter(plans[l], ring, at, region);
    ring_all_gather(plans[l], ring, at, region, 1);
    for (auto& st : plans[l]) {
      st.lane = static_cast<int16_t>(l);
      st.channel = static_cast<int16_t>(both_ways ? l / 2 : l);
    }
  }
  for (size_t s = 0; s < plans[0].size(); ++s)
    for (int l = 0; l < lanes; ++l) out.push_back(plans[l][s]);
}

// ---- direct -----------------------------------------------------------------------------------
void direct_reduce_scatter(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, Chunk all) {
  int n = static_cast<int>(g.size());
  for (int k = 1; k < n; ++k)
    out.push_back({g[mod(i + k, n)], piece(all, n, mod(i + k, n)), g[mod(i - k, n)], piece(all, n, i), true});
}

void direct_all_gather(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, Chunk all) {
  int n = static_cast<int>(g.size());
  for (int k = 1; k < n; ++k)
    out.push_back({g[mod(i + k, n)], piece(all, n, i), g[mod(i - k, n)], piece(all, n, mod(i - k, n)), false});
}

// Root position `root` to (broadcast) or from (reduce) every other position in turn.
void direct_rooted(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, int root, Chunk all, bool reduce) {
  int n = static_cast<int>(g.size());
  for (int k = 1; k < n; ++k) {
    int other = mod(root + k, n);
    P2PStep st;
    bool from_root = !reduce;
    if (i == root) {
      if (from_root) st = {g[other], all, -1, {}, false};
      else st = {-1, {}, g[other], all, true};
    } else if (i == other) {
      if (from_root) st = {-1, {}, g[root], all, false};
      else st = {g[root], all, -1, {}, false};
    }
    out.push_back(st);
  }
}

// All-to-all in blocks of count/n: step k sends block i+k to position i+k and receives from
// position i-k into its output block i-k.
void direct_all_to_all(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, int64_t count) {
  int n = static_cast<int>(g.size());
  int64_t b = count / n;
  for (int k = 1; k < n; ++k) {
    int to = mod(i + k, n), from = mod(i - k, n);
    P2PStep st{g[to], {to * b, b}, g[from], {from * b, b}, false};
    st.into_output = true;
    out.push_back(st);
  }
}

// ---- one-shot -----------------------------------------------------------------------------------
// Step k: the whole (unchanged) input to member i+k, the whole input of member i-k added into the
// output, which starts as this member's input (out of place, so what is sent is never a partial sum).
void one_shot(std::vector<P2PStep>& out, const std::vector<int32_t>& g, int i, Chunk all) {
  const int n = static_cast<int>(g.size());
  for (int k = 1; k < n; ++k) {
    P2PStep st{g[mod(i + k, n)], all, g[mod(i - k, n)], all, true};
    st.into_output = true;
    out.push_back(st);
  }
}

// ---- tree -------------------------------------------------------------------------------------
// A binary tree in heap order starting at `root`: heap index h = (i - root) mod n, children 2h+1
// and 2h+2, depth floor(log2(h+1)). The buffer is cut into K pipeline chunks. Every round has two
// half-steps: in half-step 0 left children (odd h) talk to their parents, in half-step 1 right
// children. A node at depth d sends reduced chunk c up at round c + D - d and receives chunk c of a
// broadcast at round c + d - 1: a chunk moves one level per round, so rounds = K + D - 1.
struct Tree {
  int n, h, d, depth, k;
  int rounds() const { return k + depth - 1; }
  static int depth_of(int heap) { return std::bit_width(static_cast<unsigned>(heap + 1)) - 1; }
};

Tree make_tree(int n, int i, int root, int64_t count) {
  int h = mod(i - root, n);
  int k = static_cast<int>(std::min<int64_t>(tree_pipeline_chunks(count), std::max<int64_t>(count, 1)));
  return {n, h, Tree::depth_of(h), Tree::depth_of(n - 1), k};
}

void tree_reduce(std::vector<P2PStep>& out, const std::vector<int32_t>& g, const Tree& t, int root, Chunk all) {
  auto rank_of = [&](int heap) { return g[mod(heap + root, t.n)]; };
  const int side = t.h % 2 == 1 ? 0 : 1;  // left child (odd heap index) or right
  for (int r = 0; r < t.rounds(); ++r)
    for (int sub = 0; sub < 2; ++sub) {
      P2PStep st;
      int c = r - (t.depth - t.d);
      if (t.h != 0 && sub == side && c >= 0 && c < t.k) {
        st.send_to = rank_of((t.h - 1) / 2);
        st.send = piece(all, t.k, c);
      }
      int child = 2 * t.h + 1 + sub;
      c = r - (t.depth - t.d - 1);
      if (child < t.n && c >= 0 && c < t.k) {
        st.recv_from = rank_of(child);
        st.recv = piece(all, t.k, c);
        st.reduce = true;
      }
      out.push_back(st);
    }
}

void tree_broadcast(std::vector<P2PStep>& out, const std::vector<int32_t>& g, const Tree& t, int root, Chunk all) {
  auto rank_of = [&](int heap) { return g[mod(heap + root, t.n)]; };
  const int side = t.h % 2 == 1 ? 0 : 1;
  for (int r = 0; r < t.rounds(); ++r)
    for (int sub = 0; sub < 2; ++sub) {
      P2PStep st;
      int child = 2 * t.h + 1 + sub;
      int c = r - t.d;
      if (child < t.n && c >= 0 && c < t.k) {
        st.send_to = rank_of(child);
        st.send = piece(all, t.k, c);
      }
      c = r - t.d + 1;
      if (t.h != 0 && sub == side && c >= 0 && c < t.k) {
        st.recv_from = rank_of((t.h - 1) / 2);
        st.recv = piece(all, t.k, c);
      }
      out.push_back(st);
    }
}

// ---- recursive halving / doubling ---------------------------------------------------------------
// p = the largest power of two <= n, r = n - p. Positions below 2r pair up (2j even, 2j+1 odd);
// the odd one stands for both as virtual rank j; positions from 2r on are virtual rank i - r.
// `weighted` lays out n pieces (one per position, a pair's virtual rank covering two), for
// reduce-scatter and all-gather; otherwise p equal pieces (all-reduce).
struct HalvingDoubling {
  int n, p, r, i;
  int64_t count;
  bool weighted;
  const std::vector<int32_t>* g;

  bool extra() const { return i < 2 * r && i % 2 == 0; }
  int virt() const { return i < 2 * r ? i / 2 : i - r; }
  int32_t real(int v) const { return (*g)[v < r ? 2 * v + 1 : v + r]; }
  int64_t bound(int v) const {  // first element of virtual rank v's range
    if (!weighted) return count * v / p;
    int pos = v < r ? 2 * v : v + r;
    return count * pos / n;
  }
  Chunk range(int lo, int hi) const { return {bound(lo), bound(hi) - bound(lo)}; }
  int steps() const { return std::countr_zero(static_cast<unsigned>(p)); }
};

void halving(std::vector<P2PStep>& out, const HalvingDoubling& x) {
  int lo = 0, hi = x.p, v = x.virt();
  for (int mask = x.p / 2; mask >= 1; mask /= 2) {
    if (x.extra()) {
      out.push_back(kIdle);
      continue;
    }
    int mid = (lo + hi) / 2;
    bool upper = (v & mask) != 0;
    Chunk keep = upper ? x.range(mid, hi) : x.range(lo, mid);
    Chunk give = upper ? x.range(lo, mid) : x.range(mid, hi);
    int32_t partner = x.real(v ^ mask);
    out.push_back({partner, give, partner, keep, true});
    (upper ? lo : hi) = mid;
  }
}

void doubling(std::vector<P2PStep>& out, const HalvingDoubling& x) {
  int v = x.virt();
  for (int mask = 1; mask < x.p; mask *= 2) {
    if (x.extra()) {
      out.push_back(kIdle);
      continue;
    }
    int lo = v & ~(mask - 1), other = (v ^ mask) & ~(mask - 1);
    int32_t partner = x.real(v ^ mask);
    out.push_back({partner, x.range(lo, lo + mask), partner, x.range(other, other + mask), false});
  }
}

void halving_doubling(std::vector<P2PStep>& out, CollectiveKind kind, const std::vector<int32_t>& g, int i,
                      int64_t count) {
  int n = static_cast<int>(g.size());
  int p = static_cast<int>(std::bit_floor(static_cast<unsigned>(n)));
  HalvingDoubling x{n, p, n - p, i, count, kind != CollectiveKind::AllReduce, &g};
  const Chunk all{0, count};
  const bool paired = i < 2 * x.r;
  const int32_t mate = paired ? g[x.extra() ? i + 1 : i - 1] : -1;
  Chunk own = piece(all, n, i);
  if (x.r > 0) {  // fold the extra positions into their odd neighbours
    Chunk give = kind == CollectiveKind::AllGather ? own : all;
    bool reduce = kind != CollectiveKind::AllGather;
    if (!paired) out.push_back(kIdle);
    else if (x.extra()) out.push_back({mate, give, -1, {}, false});
    else out.push_back({-1, {}, mate, kind == CollectiveKind::AllGather ? piece(all, n, i - 1) : all, reduce});
  }
  if (kind != CollectiveKind::AllGather) halving(out, x);
  if (kind != CollectiveKind::ReduceScatter) doubling(out, x);
  if (x.r == 0) return;
  // unfold: the odd neighbour hands the extra position its share of the result
  auto hand = [&](Chunk c) {
    if (!paired) out.push_back(kIdle);
    else if (x.extra()) out.push_back({-1, {}, mate, c, false});
    else out.push_back({mate, c, -1, {}, false});
  };
  int e = paired ? i - i % 2 : 0;  // the pair's extra position
  Chunk extra_piece = piece(all, n, e);
  switch (kind) {
    case CollectiveKind::AllReduce: hand(all); break;
    case CollectiveKind::ReduceScatter: hand(extra_piece); break;
    default:  // all-gather: everything but the extra's own piece, in two contiguous parts
      hand({0, extra_piece.offset});
      hand({extra_piece.offset + extra_piece.count, count - extra_piece.offset - extra_piece.count});
  }
}

// ---- hierarchical ------------------------------------------------------------------------------
struct Blocks {
  std::vector<int32_t> intra, inter;  // this rank's block, and the members at its block position
  int l, b;                           // position in each
};

Blocks blocks_of(const std::vector<int32_t>& g, int i, int local) {
  int n = static_cast<int>(g.size());
  Blocks x;
  x.l = i % local;
  x.b = i / local;
  for (int j = 0; j < local; ++j) x.intra.push_back(g[x.b * local + j]);
  for (int j = 0; j < n / local; ++j) x.inter.push_back(g[j * local + x.l]);
  return x;
}

// The part of the buffer a block position owns after the intra-block reduce-scatter.
Chunk block_share(const Blocks& x, int64_t count) {
  int lsize = static_cast<int>(x.intra.size());
  return piece({0, count}, lsize, mod(x.l + 1, lsize));
}

void hierarchical(std::vector<P2PStep>& out, CollectiveKind kind, const std::vector<int32_t>& g, int i, int64_t count,
                  int local) {
  Blocks x = blocks_of(g, i, local);
  const Chunk all{0, count};
  const Chunk share = block_share(x, count);
  switch (kind) {
    case CollectiveKind::AllReduce:
      ring_reduce_scatter(out, x.intra, x.l, all);
      ring_reduce_scatter(out, x.inter, x.b, share);
      ring_all_gather(out, x.inter, x.b, share, 1);
      ring_all_gather(out, x.intra, x.l, all, 1);
      break;
    case CollectiveKind::ReduceScatter:
      ring_reduce_scatter(out, x.intra, x.l, all);
      ring_reduce_scatter(out, x.inter, x.b, share);
      break;
    default:  // all-gather: the inverse, starting from the piece reduce-scatter leaves
      ring_all_gather(out, x.inter, x.b, share, 1);
      ring_all_gather(out, x.intra, x.l, all, 1);
  }
}

int position(const std::vector<int32_t>& group, int32_t rank, std::string_view what) {
  auto it = std::find(group.begin(), group.end(), rank);
  if (it == group.end()) throw std::invalid_argument(fmt::format("collective: {} {} is not in the group", what, rank));
  return static_cast<int>(it - group.begin());
}

void check_local(const CollectiveSpec& spec, size_t n) {
  if (spec.local < 1 || n % spec.local != 0)
    throw std::invalid_argument(fmt::format(
        "collective: hierarchical needs a block size ('local') that divides the group of {}, got {}", n, spec.local));
}
void check_stripes(const CollectiveSpec& spec) {
  if (spec.stripes < 0 || spec.stripes > 64)
    throw std::invalid_argument(fmt::format("collective: stripes must be 1 to 64, got {}", spec.stripes));
  if (spec.stripes <= 1) return;
  bool ring = spec.algorithm == core::Algorithm::Ring || spec.algorithm == core::Algorithm::BidirectionalRing;
  if (!ring || spec.kind != CollectiveKind::AllReduce)
    throw std::invalid_argument(fmt::format("collective: stripes ({}) apply to ring and bidirectional-ring all-reduce, "
                                            "not to {} {}",
                                            spec.stripes, core::name(spec.algorithm), core::name(spec.kind)));
}
}  // namespace

int lanes_of(const CollectiveSpec& spec) {
  const int k = std::max(spec.stripes, 1);
  if (spec.algorithm == core::Algorithm::BidirectionalRing) return 2 * k;
  if (spec.algorithm == core::Algorithm::Ring && spec.kind == CollectiveKind::AllReduce) return k;
  return 1;
}

int tree_pipeline_chunks(int64_t count) {
  return static_cast<int>(std::clamp<int64_t>(count / (256 * 1024), 1, 32));
}

std::string unsupported(CollectiveKind kind, core::Algorithm algorithm) {
  using core::Algorithm;
  bool ok = false;
  switch (algorithm) {
    case Algorithm::Ring:
    case Algorithm::HalvingDoubling:
    case Algorithm::Hierarchical:
      ok = kind == CollectiveKind::AllReduce || kind == CollectiveKind::ReduceScatter || kind == CollectiveKind::AllGather;
      break;
    case Algorithm::Tree:
      ok = kind == CollectiveKind::AllReduce || kind == CollectiveKind::Broadcast || kind == CollectiveKind::Reduce;
      break;
    case Algorithm::Direct: ok = true; break;
    case Algorithm::BidirectionalRing:
    case Algorithm::OneShot: ok = kind == CollectiveKind::AllReduce; break;
  }
  if (ok) return "";
  return fmt::format("algorithm '{}' does not implement {} (direct implements every collective; tree: allreduce, "
                     "broadcast, reduce; ring, halving-doubling, hierarchical: allreduce, reducescatter, allgather; "
                     "bidirectional-ring, one-shot: allreduce)",
                     core::name(algorithm), core::name(kind));
}

std::vector<P2PStep> plan_collective(const CollectiveSpec& spec, const std::vector<int32_t>& group, int32_t rank,
                                     int64_t count) {
  const int i = position(group, rank, "rank");
  const int n = static_cast<int>(group.size());
  const int root = spec.root < 0 ? 0 : position(group, spec.root, "root");
  if (std::string why = unsupported(spec.kind, spec.algorithm); !why.empty())
    throw std::invalid_argument("collective: " + why);
  if (spec.algorithm == core::Algorithm::Hierarchical) check_local(spec, group.size());
  check_stripes(spec);
  std::vector<P2PStep> out;
  if (n < 2) return out;
  const Chunk all{0, count};
  switch (spec.algorithm) {
    case core::Algorithm::BidirectionalRing: ring_lanes(out, group, i, count, lanes_of(spec), true); break;
    case core::Algorithm::Ring:
      if (lanes_of(spec) > 1) {
        ring_lanes(out, group, i, count, lanes_of(spec), false);
        break;
      }
      if (spec.kind != CollectiveKind::AllGather) ring_reduce_scatter(out, group, i, all);
      if (spec.kind != CollectiveKind::ReduceScatter)
        ring_all_gather(out, group, i, all, spec.kind == CollectiveKind::AllReduce ? 1 : 0);
      break;
    case core::Algorithm::Direct:
      switch (spec.kind) {
        case CollectiveKind::AllReduce:
          direct_reduce_scatter(out, group, i, all);
          direct_all_gather(out, group, i, all);
          break;
        case CollectiveKind::ReduceScatter: direct_reduce_scatter(out, group, i, all); break;
        case CollectiveKind::AllGather: direct_all_gather(out, group, i, all); break;
        case CollectiveKind::Broadcast: direct_rooted(out, group, i, root, all, false); break;
        case CollectiveKind::Reduce: direct_rooted(out, group, i, root, all, true); break;
        case CollectiveKind::AllToAll: direct_all_to_all(out, group, i, count); break;
      }
      break;
    case core::Algorithm::Tree: {
      Tree t = make_tree(n, i, root, count);
      if (spec.kind != CollectiveKind::Broadcast) tree_reduce(out, group, t, root, all);
      if (spec.kind != CollectiveKind::Reduce) tree_broadcast(out, group, t, root, all);
      break;
    }
    case core::Algorithm::HalvingDoubling: halving_doubling(out, spec.kind, group, i, count); break;
    case core::Algorithm::OneShot: one_shot(out, group, i, all); break;
    case core::Algorithm::Hierarchical: hierarchical(out, spec.kind, group, i, count, spec.local); break;
  }
  return out;
}

std::vector<P2PStep> plan_collective(const core::Op& op, const std::vector<int32_t>& group, int32_t rank,
                                     int64_t count) {
  return plan_collective(CollectiveSpec{op.collective, op.algorithm, op.root, op.local, op.stripes}, group, rank, count);
}

std::vector<P2PStep> plan_collective(core::CollectiveKind kind, core::Algorithm algorithm,
                                     const std::vector<int32_t>& group, int32_t rank, int64_t count) {
  return plan_collective(CollectiveSpec{kind, algorithm, -1, 0}, group, rank, count);
}

Chunk owned_chunk(const CollectiveSpec& spec, const std::vector<int32_t>& group, int32_t rank, int64_t count) {
  const int i = position(group, rank, "rank");
  const int n = static_cast<int>(group.size());
  const Chunk all{0, count};
  if (spec.kind != CollectiveKind::ReduceScatter && spec.kind != CollectiveKind::AllGather) return all;
  if (std::string why = unsupported(spec.kind, spec.algorithm); !why.empty())
    throw std::invalid_argument("collective: " + why);
  switch (spec.algorithm) {
    case core::Algorithm::Ring: return piece(all, n, spec.kind == CollectiveKind::ReduceScatter ? mod(i + 1, n) : i);
    case core::Algorithm::Hierarchical: {
      check_local(spec, group.size());
      Blocks x = blocks_of(group, i, spec.local);
      int g = static_cast<int>(x.inter.size());
      return piece(block_share(x, count), g, mod(x.b + 1, g));
    }
    default: return piece(all, n, i);  // direct, halving-doubling: position i owns piece i
  }
}

std::vector<int32_t> peers_of(const std::vector<P2PStep>& plan) {
  std::vector<int32_t> peers;
  for (const auto& s : plan) {
    if (s.send_to >= 0) peers.push_back(s.send_to);
    if (s.recv_from >= 0) peers.push_back(s.recv_from);
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  return peers;
}

}  // namespace clustertwin::work
