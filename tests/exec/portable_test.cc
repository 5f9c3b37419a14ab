// The worker runs on macOS and Raspberry Pi OS: no Linux-only interface may appear in the sources
// the executor-only build compiles, outside files named *_linux.cc and outside preprocessor
// branches that test for Linux (`#ifdef __linux__`, `#if defined(__linux__)`) or for the very
// symbol (`#ifdef MSG_NOSIGNAL`). A text scan, so it runs in every build, Linux included.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct LinuxOnly {
  std::string token;
  std::string instead;  // the portable way, for the message
};

const std::vector<LinuxOnly>& linux_only() {
  static const std::vector<LinuxOnly> list = {
      {"epoll", "poll()"},
      {"/proc/", "a call that macOS has too, or an #ifdef __linux__ branch"},
      {"prctl", "a lifeline pipe"},
      {"accept4", "accept() then fcntl(FD_CLOEXEC)"},
      {"SOCK_CLOEXEC", "fcntl(FD_CLOEXEC) after socket()"},
      {"SOCK_NONBLOCK", "fcntl(O_NONBLOCK) after socket()"},
      {"MSG_NOSIGNAL", "SO_NOSIGPIPE on macOS, under #ifdef MSG_NOSIGNAL"},
      {"pipe2", "pipe() then fcntl(FD_CLOEXEC)"},
      {"eventfd", "a pipe"},
      {"signalfd", "a self-pipe"},
      {"timerfd", "poll()'s timeout"},
      {"inotify", "polling the file"},
      {"memfd_create", "a file in the output folder"},
      {"sched_setaffinity", "nothing (macOS has no CPU pinning)"},
      {"getrandom", "OpenSSL's RAND_bytes"},
      {"<linux/", "POSIX headers"},
      {"TCP_USER_TIMEOUT", "the executor's own op timeout"},
      {"TCP_QUICKACK", "TCP_NODELAY"},
      {"TCP_CORK", "TCP_NODELAY"},
      {"MSG_MORE", "one write of the whole frame"},
      {"O_TMPFILE", "a named temporary file"},
      {"fallocate", "ftruncate()"},
  };
  return list;
}

struct Finding {
  std::string where;  // "file:line"
  std::string token;
  bool operator==(const Finding&) const = default;
};

// One level of #if nesting: the condition of the branch being read ("" in an #else branch).
struct Branch {
  std::string condition;
  bool positive = true;  // #if / #ifdef / #elif, not #ifndef
};

bool allows(const std::vector<Branch>& open, const std::string& token) {
  for (const auto& b : open) {
    if (!b.positive || b.condition.find('!') != std::string::npos) continue;
    if (b.condition.find("__linux__") != std::string::npos || b.condition.find(token) != std::string::npos) return true;
  }
  return false;
}

std::string directive(const std::string& line, std::string& rest) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string::npos || line[i] != '#') return "";
  i = line.find_first_not_of(" \t", i + 1);
  if (i == std::string::npos) return "";
  size_t j = line.find_first_of(" \t(", i);
  rest = j == std::string::npos ? "" : line.substr(j);
  return line.substr(i, j == std::string::npos ? std::string::npos : j - i);
}

// Linux-only tokens in `text` outside comments and outside Linux branches.
std::vector<Finding> scan(const std::string& name, const std::string& text) {
  std::vector<Finding> out;
  std::vector<Branch> open;
  std::istringstream in(text);
  bool in_block_comment = false;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    std::string rest;
    const std::string d = directive(line, rest);
    if (d == "if" || d == "ifdef" || d == "ifndef") {
      open.push_back({rest, d != "ifndef"});
      continue;
    }
    if ((d == "elif" || d == "else") && !open.empty()) {
      open.back() = {d == "elif" ? rest : "", true};
      continue;
    }
    if (d == "endif" && !open.empty()) {
      open.pop_back();
      continue;
    }
    // Code only: drop /* */ and // comments (a string holding "//" would end the line early,
    // which can only hide a finding in the rest of that line).
    std::string code;
    for (size_t i = 0; i < line.size(); ++i) {
      if (in_block_comment) {
        if (line.compare(i, 2, "*/") == 0) in_block_comment = false, ++i;
      } else if (line.compare(i, 2, "/*") == 0) {
        in_block_comment = true, ++i;
      } else if (line.compare(i, 2, "//") == 0 && (i == 0 || line[i - 1] != ':')) {
        break;
      } else {
        code += line[i];
      }
    }
    for (const auto& l : linux_only())
      if (code.find(l.token) != std::string::npos && !allows(open, l.token))
        out.push_back({name + ":" + std::to_string(n), l.token});
  }
  return out;
}

TEST(Portable, TheScannerFlagsACallOutsideALinuxBranchOnly) {
  const std::string text =
      "int fd = epoll_create1(0);\n"                          // 1: flagged
      "// epoll in a comment\n"                               // 2
      "#ifdef __linux__\n"                                    // 3
      "int e = epoll_create1(0);\n"                           // 4: allowed
      "#else\n"                                               // 5
      "int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);\n"  // 6: flagged (the other branch)
      "#endif\n"                                              // 7
      "#if defined(__APPLE__) || defined(__linux__)\n"        // 8
      "#  if 1\n"                                             // 9
      "int p = prctl(1);\n"                                   // 10: allowed (outer branch)
      "#  endif\n"                                            // 11
      "#endif\n"                                              // 12
      "#ifdef MSG_NOSIGNAL\n"                                 // 13
      "int f = MSG_NOSIGNAL;\n"                               // 14: allowed (tests the symbol)
      "int g = MSG_MORE;\n"                                   // 15: flagged (another symbol)
      "#endif\n"                                              // 16
      "#ifndef __linux__\n"                                   // 17
      "const char* p = \"/proc/self/exe\";\n"                 // 18: flagged (not Linux)
      "#endif\n"                                              // 19
      "/* accept4(\n"                                         // 20
      "   pipe2( */ int x = 0;\n";                            // 21
  EXPECT_EQ(scan("t.cc", text), (std::vector<Finding>{{"t.cc:1", "epoll"},
                                                        {"t.cc:6", "SOCK_CLOEXEC"},
                                                        {"t.cc:15", "MSG_MORE"},
                                                        {"t.cc:18", "/proc/"}}));
}

// Every source the executor-only build compiles: all library folders but sim/.
TEST(Portable, TheWorkerBuildUsesNoLinuxOnlyInterfaceOutsideLinuxBranches) {
  std::vector<Finding> found;
  int files = 0;
  for (const char* dir : {"core", "topologies", "workloads", "exec", "reports", "cli"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(CLUSTERTWIN_SOURCE_DIR) / dir)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cc" && ext != ".h")) continue;
      if (e.path().stem().string().ends_with("_linux")) continue;
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      ++files;
      auto f = scan(fs::relative(e.path(), CLUSTERTWIN_SOURCE_DIR).string(), text.str());
      found.insert(found.end(), f.begin(), f.end());
    }
  }
  EXPECT_GT(files, 100);
  std::string report;
  for (const auto& f : found) {
    for (const auto& l : linux_only())
      if (l.token == f.token)
        report += f.where + ": '" + f.token + "' is Linux-only; use " + l.instead + ", or put it under #ifdef __linux__\n";
  }
  EXPECT_EQ(report, "");
}

}  // namespace
