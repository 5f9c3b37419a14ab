// File descriptors: an owner that closes once, close-on-exec pipes, and whole reads and writes that
// survive EINTR and short transfers. POSIX only, so the executor uses them on macOS too; sockets
// with deadlines and peer names are exec/socket.h, built on these.
#pragma once

#include <cstddef>

namespace clustertwin::core {

// Owns a file descriptor; closes it once.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

void set_cloexec(int fd);

// A pipe whose ends are close-on-exec at once, so no child started meanwhile inherits them and keeps
// the other end open. Throws std::system_error ("cannot create a pipe: Too many open files").
void make_pipe(Fd& read_end, Fd& write_end);

// Writes all `n` bytes: retries on EINTR and short writes, and waits in poll() when the descriptor
// is non-blocking and full. False on an error (errno says which: EPIPE when the reader is gone).
bool write_full(int fd, const void* data, size_t n);
// Reads until `n` bytes, end of file or an error, with the same retries; returns the bytes read
// (fewer than `n`: end of file, or an error with errno set).
size_t read_full(int fd, void* data, size_t n);

}  // namespace clustertwin::core
