#include "exec/collective_runner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/units.h"
#include "exec/errors.h"

namespace clustertwin::exec {

namespace {
constexpr int kPeriod = 17;  // the pattern repeats every 17 elements

// One period of a rank's pattern: element i holds table[i % 17].
std::array<float, kPeriod> pattern_table(int32_t rank) {
  std::array<float, kPeriod> t{};
  for (int k = 0; k < kPeriod; ++k) t[k] = pattern_value(rank, k);
  return t;
}

// First wrong element and how many are wrong, over [lo, hi) against a 17-periodic expectation.
struct Mismatch {
  int64_t first = -1;
  float expected = 0, actual = 0;
  int64_t count = 0;
};

void check_range(const float* buf, int64_t lo, int64_t hi, const std::array<float, kPeriod>& want, Mismatch& m) {
  int k = static_cast<int>(lo % kPeriod);
  for (int64_t i = lo; i < hi; ++i) {
    if (buf[i] != want[k]) {
      if (m.first < 0) m = {i, want[k], buf[i], 0};
      ++m.count;
    }
    if (++k == kPeriod) k = 0;
  }
}
}  // namespace

float pattern_value(int32_t rank, int64_t i) {
  return static_cast<float>(((i % kPeriod) * 7 + static_cast<int64_t>(rank) * 13) % kPeriod);
}

int64_t element_count(const core::Op& op) { return std::llround(op.bytes / sizeof(float)); }

std::vector<work::P2PStep> plan_for(const core::Op& op, const std::vector<int32_t>& group, int32_t rank) {
  if (op.dtype != core::DType::F32)
    throw RunError(fmt::format("exec: collective '{}' is {}: the executor reduces fp32 buffers only so far",
                               op.label, core::name(op.dtype)));
  try {
    return work::plan_collective(op.collective, op.algorithm, group, rank, element_count(op));
  } catch (const std::invalid_argument& e) {
    throw RunError(fmt::format("exec: rank {}: collective '{}': {}", rank, op.label, e.what()));
  }
}

CollectiveRunner::CollectiveRunner(DataPlane& plane, int32_t rank, const std::vector<std::vector<int32_t>>& groups,
                                   const std::vector<core::Op>& ops, bool corrupt)
    : plane_(plane), rank_(rank), groups_(groups), corrupt_(corrupt) {
  int64_t most = 0, chunk = 0;
  for (const auto& op : ops) {
    if (op.kind != core::OpKind::Collective) continue;
    most = std::max(most, element_count(op));
    for (const auto& st : plan_for(op, groups_.at(op.group), rank_))
      if (st.reduce) chunk = std::max(chunk, st.recv.count);
  }
  buffer_.resize(static_cast<size_t>(most));
  staging_.resize(static_cast<size_t>(chunk));
}

void CollectiveRunner::fill(int64_t count) {
  auto t = pattern_table(rank_);
  int k = 0;
  for (int64_t i = 0; i < count; ++i) {
    buffer_[i] = t[k];
    if (++k == kPeriod) k = 0;
  }
  if (corrupt_ && count > 0) buffer_[0] += 1.0f;
}

std::string CollectiveRunner::describe(const core::Op& op, uint32_t index) const {
  return fmt::format("op {} '{}' ({} of {}, step {}, tag {})", index, op.label, core::name(op.collective),
                     core::format_bytes(op.bytes), op.step, op.tag);
}

void CollectiveRunner::run(const core::Op& op, uint32_t index) {
  const auto plan = plan_for(op, groups_.at(op.group), rank_);
  float* buf = buffer_.data();
  for (size_t s = 0; s < plan.size(); ++s) {
    const work::P2PStep& st = plan[s];
    ChunkOut out{st.send_to, op.tag, static_cast<uint32_t>(s), reinterpret_cast<const uint8_t*>(buf + st.send.offset),
                 static_cast<uint64_t>(st.send.count) * sizeof(float)};
    ChunkIn in{st.recv_from, op.tag, static_cast<uint32_t>(s), nullptr,
               static_cast<uint64_t>(st.recv.count) * sizeof(float), {}};
    float* dst = buf + st.recv.offset;
    if (st.reduce) {
      // Add whole floats as they land, while the rest of the chunk is still on the wire.
      in.data = reinterpret_cast<uint8_t*>(staging_.data());
      in.on_data = [dst, src = staging_.data(), done = int64_t{0}](uint64_t got) mutable {
        auto upto = static_cast<int64_t>(got / sizeof(float));
        for (int64_t i = done; i < upto; ++i) dst[i] += src[i];
        done = upto;
      };
    } else {
      in.data = reinterpret_cast<uint8_t*>(dst);  // a gather step copies: receive in place
    }
    plane_.exchange(out, in, fmt::format("{}, ring step {} of {}", describe(op, index), s + 1, plan.size()));
  }
}

void CollectiveRunner::verify(const core::Op& op, uint32_t index) const {
  const auto& group = groups_.at(op.group);
  const int64_t count = element_count(op);
  const auto plan = plan_for(op, group, rank_);
  std::array<float, kPeriod> sum{};
  for (int32_t r : group) {
    auto t = pattern_table(r);
    for (int k = 0; k < kPeriod; ++k) sum[k] += t[k];
  }
  Mismatch m;
  const float* buf = buffer_.data();
  switch (op.collective) {
    case core::CollectiveKind::AllReduce: check_range(buf, 0, count, sum, m); break;
    case core::CollectiveKind::ReduceScatter: {
      // This rank owns the chunk it received last; the rest of its buffer holds partial sums.
      work::Chunk own = plan.empty() ? work::Chunk{0, count} : plan.back().recv;
      check_range(buf, own.offset, own.offset + own.count, sum, m);
      break;
    }
    case core::CollectiveKind::AllGather:
      // Each member's own chunk is the one it sends first; everyone ends with every member's chunk.
      if (plan.empty()) {
        check_range(buf, 0, count, pattern_table(rank_), m);
        break;
      }
      for (int32_t member : group) {
        work::Chunk own = plan_for(op, group, member).front().send;
        check_range(buf, own.offset, own.offset + own.count, pattern_table(member), m);
      }
      break;
    default: throw RunError(fmt::format("exec: cannot verify collective '{}'", core::name(op.collective)));
  }
  if (m.first < 0) return;
  throw WrongResult(fmt::format("exec: rank {}: {} over ranks [{}] gave a wrong result: element {} is {} but should be "
                                "{} ({} of {} elements wrong) — a rank sent wrong data or the ring plan is wrong",
                                rank_, describe(op, index), fmt::join(group, ", "), m.first, m.actual, m.expected,
                                m.count, count));
}

}  // namespace clustertwin::exec
