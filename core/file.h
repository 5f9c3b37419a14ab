// The one way an output file is written (run records, reports, program.json, clocks.json, bench
// JSON): checked, and whole or not at all; and the one way a user's input file is read: bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace clustertwin::core {

// The most clustertwin reads of a YAML input (topology, workload, calibration, plan): the largest
// real one is a few KB, so 16 MiB is a file given by mistake (a log, /dev/zero), refused at once.
inline constexpr size_t kMaxYamlBytes = size_t{16} << 20;
// The most it reads of a run file (summary.json, trace.json, program.json, iperf3 JSON).
inline constexpr size_t kMaxRunFileBytes = size_t{256} << 20;

// The whole of `path`, read with at most `limit` bytes. `origin` names where the path came from (a
// flag, like "-t/--topology"), for the hint. Throws InputError naming the path when it cannot be
// opened, is a directory, or holds more than `limit` bytes (read no further than that, so a device
// or a pipe without end is refused as quickly as a big file).
std::string read_input_file(const std::string& path, std::string_view origin, size_t limit);

// Writes `bytes` to `path` through a temporary file in the same directory renamed over it, so a
// failed write never leaves a truncated file (an old file stays as it was). The new file's mode is
// 0666 less the umask, like any file this process creates. Throws std::system_error whose what() is
// "cannot write 'PATH': STRERROR" (code() the errno).
void write_file(const std::string& path, std::string_view bytes);

}  // namespace clustertwin::core
