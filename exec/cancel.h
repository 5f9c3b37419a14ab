// Stopping a running rank from any thread: the first failure wins, and every wait in the worker
// (a poll() on sockets, a condition variable, a modelled sleep) wakes up at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "exec/socket.h"

namespace clustertwin::exec {

// A pipe whose read end becomes readable on notify(): lets poll() wait on threads as well as sockets.
class WakePipe {
 public:
  WakePipe();
  void notify();
  void drain();
  int fd() const { return read_.get(); }

 private:
  Fd read_, write_;
};

class Cancel {
 public:
  // Records the reason and wakes every waiter. Returns false when already cancelled (the first
  // reason is kept: it is the root cause, later ones are consequences).
  bool cancel(std::string reason, std::string kind = "error");
  bool cancelled() const { return flag_.load(std::memory_order_acquire); }
  std::string reason() const;
  std::string kind() const;
  // Readable once cancelled; include it in every poll().
  int wake_fd() const { return pipe_.fd(); }
  // Sleeps `seconds` unless cancelled first; false when cancelled.
  bool sleep_for(double seconds);
  // The mutex and condition variable other waits (op dependencies) share, so cancel() wakes them.
  std::mutex& mutex() { return mu_; }
  std::condition_variable& cv() { return cv_; }

 private:
  std::atomic<bool> flag_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string reason_, kind_;
  WakePipe pipe_;
};

}  // namespace clustertwin::exec
