// The one way an output file is written (run records, reports, program.json, clocks.json, bench
// JSON): checked, and whole or not at all.
#pragma once

#include <string>
#include <string_view>

namespace clustertwin::core {

// Writes `bytes` to `path` through a temporary file in the same directory renamed over it, so a
// failed write never leaves a truncated file (an old file stays as it was). The new file's mode is
// 0666 less the umask, like any file this process creates. Throws std::system_error whose what() is
// "cannot write 'PATH': STRERROR" (code() the errno).
void write_file(const std::string& path, std::string_view bytes);

}  // namespace clustertwin::core
