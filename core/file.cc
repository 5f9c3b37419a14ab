#include "core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "core/fd.h"

namespace clustertwin::core {

void write_file(const std::string& path, std::string_view bytes) {
  // Unique per process and call, so concurrent writers (threads, or runs sharing a directory) never
  // share a temporary file.
  static std::atomic<unsigned> serial{0};
  const std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), serial++);
  auto fail = [&](int err) {
    ::unlink(tmp.c_str());
    return std::system_error(err, std::generic_category(), fmt::format("cannot write '{}'", path));
  };
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) throw std::system_error(errno, std::generic_category(), fmt::format("cannot write '{}'", path));
  if (!write_full(fd.get(), bytes.data(), bytes.size())) throw fail(errno);
  // close() reports what a file system (NFS, a full disk) only finds out at the end.
  if (::close(fd.release()) != 0) throw fail(errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw fail(errno);
}

}  // namespace clustertwin::core
