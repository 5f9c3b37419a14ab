#include "core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "core/diag.h"
#include "core/fd.h"

namespace clustertwin::core {

namespace {
std::string size_text(size_t bytes) {
  return bytes % (size_t{1} << 20) == 0 ? fmt::format("{} MiB", bytes >> 20) : fmt::format("{} bytes", bytes);
}
}  // namespace

std::string read_input_file(const std::string& path, std::string_view origin, size_t limit) {
  const std::string check = origin.empty() ? "check the path" : fmt::format("check the path given to {}", origin);
  auto fail = [&](std::string message, std::string hint) {
    return InputError(format_diagnostic({path, 0, 0}, {}, message, hint));
  };
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw fail(fmt::format("cannot open file: {}", std::strerror(errno)), check);
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode))
    throw fail("this is a directory, expected a file", fmt::format("{}: name a file in it", check));
  std::string text;
  while (text.size() <= limit) {
    const size_t chunk = std::min<size_t>(limit + 1 - text.size(), size_t{1} << 20);
    const size_t old = text.size();
    text.resize(old + chunk);
    errno = 0;
    const size_t got = read_full(fd.get(), text.data() + old, chunk);
    text.resize(old + got);
    if (got < chunk && errno != 0) throw fail(fmt::format("cannot read file: {}", std::strerror(errno)), check);
    if (got < chunk) break;  // end of file
  }
  if (text.size() > limit)
    throw fail(fmt::format("the file is larger than {}, the most clustertwin reads of such a file", size_text(limit)),
               fmt::format("{}: is this the file you meant?", check));
  return text;
}

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
