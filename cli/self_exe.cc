// Where the running binary is, so `run --local` can start workers from the same build.
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.h"

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#elif defined(__linux__)
#include <unistd.h>
#endif

namespace clustertwin::cli {

std::string self_exe() {
#if defined(__APPLE__)
  uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);
  std::vector<char> buf(size + 1);
  if (_NSGetExecutablePath(buf.data(), &size) != 0) throw std::runtime_error("cannot find the clustertwin binary");
  char real[PATH_MAX];
  return realpath(buf.data(), real) ? std::string(real) : std::string(buf.data());
#elif defined(__linux__)
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the clustertwin binary (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
#else
#error "self_exe(): say how this platform finds the running binary's path"
#endif
}

}  // namespace clustertwin::cli
