#include "exec/scheduler.h"

#include <algorithm>

#include <fmt/format.h>

#include "exec/errors.h"

namespace clustertwin::exec {

namespace {
bool on_compute_stream(const core::Op& op) { return op.kind == core::OpKind::Compute; }
const std::vector<uint32_t> kNoOps;
}  // namespace

Scheduler::Scheduler(const std::vector<core::Op>& ops, Clock::time_point origin, Hooks hooks, Cancel& cancel)
    : ops_(ops), origin_(origin), hooks_(std::move(hooks)), cancel_(cancel), times_(ops.size()), done_(ops.size(), 0) {
  for (uint32_t i = 0; i < ops_.size(); ++i) {
    auto s = static_cast<size_t>(std::max(ops_[i].step, 0));
    if (s >= steps_.size()) steps_.resize(s + 1);
    steps_[s].push_back(i);
  }
  for (const auto& s : steps_) step_left_.push_back(s.size());
}

Scheduler::~Scheduler() {
  if (compute_.joinable() || comm_.joinable()) {
    cancel_.cancel("exec: the worker stopped before its ops finished", "cancelled");
    join();
  }
}

void Scheduler::start() {
  compute_ = std::thread([this] { stream(true); });
  comm_ = std::thread([this] { stream(false); });
}

void Scheduler::join() {
  if (compute_.joinable()) compute_.join();
  if (comm_.joinable()) comm_.join();
}

bool Scheduler::finished_ok() const {
  std::lock_guard lock(cancel_.mutex());
  return finished_ == ops_.size() && !cancel_.cancelled();
}

const std::vector<uint32_t>& Scheduler::ops_of_step(int32_t step) const {
  if (step < 0 || static_cast<size_t>(step) >= steps_.size()) return kNoOps;
  return steps_[step];
}

double Scheduler::now() const { return std::chrono::duration<double>(Clock::now() - origin_).count(); }

void Scheduler::wait_for_deps(const core::Op& op) {
  std::unique_lock lock(cancel_.mutex());
  cancel_.cv().wait(lock, [&] {
    return cancel_.cancelled() || std::all_of(op.deps.begin(), op.deps.end(), [&](uint32_t d) { return done_[d] != 0; });
  });
}

void Scheduler::finish(uint32_t index) {
  int32_t step = std::max(ops_[index].step, 0);
  bool step_complete;
  {
    std::lock_guard lock(cancel_.mutex());
    done_[index] = 1;
    ++finished_;
    step_complete = --step_left_[step] == 0;
  }
  cancel_.cv().notify_all();
  if (step_complete && hooks_.step_done) hooks_.step_done(step);
}

// One stream: its ops in program order, each after its deps. Any failure cancels the whole rank
// with the first reason (the other stream then stops at its next wait).
void Scheduler::stream(bool compute_stream) {
  try {
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      const core::Op& op = ops_[i];
      if (on_compute_stream(op) != compute_stream) continue;
      wait_for_deps(op);
      if (cancel_.cancelled()) return;
      times_[i].start = now();
      if (compute_stream) hooks_.compute(op, i);
      else hooks_.comm(op, i);
      times_[i].end = now();
      if (cancel_.cancelled()) return;
      // Dependents may start while the result is checked; the step only counts as finished after.
      if (!compute_stream) {
        {
          std::lock_guard lock(cancel_.mutex());
          done_[i] = 1;
        }
        cancel_.cv().notify_all();
        if (hooks_.after_comm) hooks_.after_comm(op, i);
      }
      finish(i);
    }
  } catch (const RunError& e) {
    cancel_.cancel(e.what(), std::string(error_kind(e)));
  } catch (const std::bad_alloc&) {
    cancel_.cancel(fmt::format("exec: out of memory while running the ops"), "error");
  } catch (const std::exception& e) {
    cancel_.cancel(fmt::format("exec: {}", e.what()), "error");
  }
}

}  // namespace clustertwin::exec
