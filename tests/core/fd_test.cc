// Whole reads and writes through real pipes: short transfers, EINTR from signals landing while the
// call blocks, non-blocking descriptors, end of file and a reader that is gone.
#include "core/fd.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <functional>
#include <cstring>
#include <string>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

std::atomic<int> interruptions{0};
void count_signal(int) { interruptions.fetch_add(1, std::memory_order_relaxed); }

// SIGUSR1 with a handler installed without SA_RESTART, so a blocked read() or write() it lands on
// fails with EINTR or returns short; restored when the test ends.
class Interrupts {
 public:
  Interrupts() {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, &old_);
    interruptions = 0;
  }
  ~Interrupts() { sigaction(SIGUSR1, &old_, nullptr); }

  // Signals `target` every 200 us until `done`.
  std::thread pester(pthread_t target, const std::atomic<bool>& done) {
    return std::thread([target, &done] {
      while (!done) {
        pthread_kill(target, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }

 private:
  struct sigaction old_ {};
};

// Runs `f` on this thread while another signals it; returns how many signals landed.
int under_signals(const std::function<void()>& f) {
  Interrupts interrupts;
  std::atomic<bool> done{false};
  std::thread pest = interrupts.pester(pthread_self(), done);
  f();
  done = true;
  pest.join();
  return interruptions.load();
}

std::vector<char> pattern(size_t n) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return v;
}

TEST(Fd, ClosesOnceAndMoves) {
  Fd r, w;
  make_pipe(r, w);
  int raw = w.get();
  Fd moved(std::move(w));
  EXPECT_FALSE(w.valid());
  EXPECT_EQ(moved.get(), raw);
  moved.reset();
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);  // closed
  EXPECT_EQ(errno, EBADF);
}

TEST(Fd, PipeEndsAreCloseOnExec) {
  Fd r, w;
  make_pipe(r, w);
  EXPECT_TRUE(fcntl(r.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(w.get(), F_GETFD) & FD_CLOEXEC);
}

TEST(Fd, LargeWriteThroughAPipeSurvivesSignals) {
  // 8 MiB through a pipe of ~64 KiB: the writer blocks hundreds of times while a thread signals it.
  const auto data = pattern(8 << 20);
  Fd r, w;
  make_pipe(r, w);
  std::vector<char> got(data.size());
  size_t read = 0;
  std::thread reader([&] {
    // Slowly, so the writer is blocked when the signals land.
    for (size_t chunk = 0; read < got.size(); ++chunk) {
      ssize_t n = ::read(r.get(), got.data() + read, std::min<size_t>(64 << 10, got.size() - read));
      if (n <= 0) break;
      read += static_cast<size_t>(n);
      if (chunk % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  bool ok = false;
  EXPECT_GT(under_signals([&] { ok = write_full(w.get(), data.data(), data.size()); }), 0);
  reader.join();
  EXPECT_TRUE(ok) << std::strerror(errno);
  ASSERT_EQ(read, data.size());
  EXPECT_TRUE(got == data);
}

TEST(Fd, LargeReadThroughAPipeSurvivesSignals) {
  const auto data = pattern(4 << 20);
  Fd r, w;
  make_pipe(r, w);
  std::thread writer([&] {
    for (size_t off = 0; off < data.size(); off += 32 << 10) {
      ASSERT_TRUE(write_full(w.get(), data.data() + off, std::min<size_t>(32 << 10, data.size() - off)));
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    w.reset();
  });
  std::vector<char> got(data.size() + 10);
  size_t n = 0;
  // Asks for more than comes: stops at EOF.
  EXPECT_GT(under_signals([&] { n = read_full(r.get(), got.data(), got.size()); }), 0);
  writer.join();
  ASSERT_EQ(n, data.size());
  got.resize(n);
  EXPECT_TRUE(got == data);
}

TEST(Fd, NonBlockingWriteWaitsForTheReader) {
  const auto data = pattern(1 << 20);
  Fd r, w;
  make_pipe(r, w);
  fcntl(w.get(), F_SETFL, fcntl(w.get(), F_GETFL) | O_NONBLOCK);
  std::vector<char> got(data.size());
  std::thread reader([&] { EXPECT_EQ(read_full(r.get(), got.data(), got.size()), got.size()); });
  EXPECT_TRUE(write_full(w.get(), data.data(), data.size()));
  reader.join();
  EXPECT_TRUE(got == data);
}

TEST(Fd, WriteToAClosedPipeFailsWithEpipe) {
  auto old = std::signal(SIGPIPE, SIG_IGN);
  Fd r, w;
  make_pipe(r, w);
  r.reset();
  char byte = 'x';
  errno = 0;
  EXPECT_FALSE(write_full(w.get(), &byte, 1));
  EXPECT_EQ(errno, EPIPE);
  std::signal(SIGPIPE, old);
}

TEST(Fd, ReadStopsAtEndOfFile) {
  Fd r, w;
  make_pipe(r, w);
  ASSERT_TRUE(write_full(w.get(), "abc", 3));
  w.reset();
  char buf[8];
  EXPECT_EQ(read_full(r.get(), buf, sizeof buf), 3u);
  EXPECT_EQ(std::string(buf, 3), "abc");
  EXPECT_EQ(read_full(r.get(), buf, sizeof buf), 0u);
}

}  // namespace
}  // namespace clustertwin::core
