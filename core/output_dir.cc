#include "core/output_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/diag.h"
#include "core/fd.h"
#include "core/file.h"

namespace clustertwin::core {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void refuse(const OutputDir& out, std::string message, std::string hint) {
  throw InputError(format_diagnostic({out.flag, 0, 0}, {}, message, hint));
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

// summary.json's "backend": "predicted" or "measured"; "" when absent or unreadable.
std::string summary_backend(const fs::path& dir) {
  const fs::path file = dir / "summary.json";
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec))) return "";
  try {
    auto j = nlohmann::json::parse(read_input_file(file.string(), {}, kMaxRunFileBytes), nullptr, false);
    if (j.is_object() && j.contains("backend") && j["backend"].is_string()) return j["backend"].get<std::string>();
  } catch (const std::exception&) {
  }
  return "";
}

// Whether a file can be created in `dir`: tried, not guessed from the mode bits (root may write in a
// directory without write permission; nobody writes on a read-only mount). errno when it cannot.
int cannot_create_in(const fs::path& dir) {
  const std::string probe = (dir / fmt::format(".clustertwin-probe.{}", ::getpid())).string();
  Fd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno;
  ::unlink(probe.c_str());
  return 0;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

}  // namespace

std::string_view describe(OutputKind kind) {
  switch (kind) {
    case OutputKind::PredictedRun: return "a prediction";
    case OutputKind::MeasuredRun: return "a measured run";
    case OutputKind::Report: return "a report";
    case OutputKind::Plan: return "a plan";
  }
  return "outputs";
}

const std::vector<std::string>& output_names(OutputKind kind) {
  static const std::vector<std::string> predicted{"program.json", "topology.yaml", "calibration.yaml",
                                                  "summary.json", "trace.json",    "report.html"};
  static const std::vector<std::string> measured{"program.json", "topology.yaml", "summary.json",
                                                 "trace.json",   "steps.jsonl",   "clocks.json"};
  static const std::vector<std::string> report{"report.md", "report.html", "summary.csv", "trace.json"};
  static const std::vector<std::string> plan{"plan.csv", "plan.json", "best", "best/topology.yaml", "best/workload.yaml"};
  switch (kind) {
    case OutputKind::PredictedRun: return predicted;
    case OutputKind::MeasuredRun: return measured;
    case OutputKind::Report: return report;
    case OutputKind::Plan: return plan;
  }
  return report;
}

std::vector<OutputKind> kinds_in(const std::string& dir) {
  const fs::path d(dir);
  std::vector<OutputKind> kinds;
  const std::string backend = summary_backend(d);
  if (present(d / "steps.jsonl") || present(d / "clocks.json") || backend == "measured")
    kinds.push_back(OutputKind::MeasuredRun);
  else if (backend == "predicted")
    kinds.push_back(OutputKind::PredictedRun);
  if (present(d / "summary.csv") || present(d / "report.md")) kinds.push_back(OutputKind::Report);
  if (present(d / "plan.csv") || present(d / "plan.json")) kinds.push_back(OutputKind::Plan);
  return kinds;
}

void prepare_output_dir(const OutputDir& out, const std::vector<std::string>& inputs) {
  const fs::path dir(out.path);
  std::error_code ec;
  if (out.path.empty()) refuse(out, "expected a directory, got an empty path", "name the directory for the outputs");
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    refuse(out, fmt::format("'{}' exists and is not a directory", out.path),
           fmt::format("{} takes a directory (created when missing) for the outputs; name another path", out.flag));
  fs::create_directories(dir, ec);
  if (ec)
    refuse(out, fmt::format("cannot create the directory '{}': {}", out.path, ec.message()),
           "check that its parent exists, is a directory and can be written in");
  if (int err = cannot_create_in(dir))
    refuse(out, fmt::format("cannot write in '{}': {}", out.path, std::strerror(err)),
           "name a directory you can write in");
  for (const auto& input : inputs)
    if (same_file(dir, input))
      refuse(out, fmt::format("'{}' is the input '{}': the outputs would replace what is read", out.path, input),
             "write the outputs to another directory");
  for (const auto& name : output_names(out.kind)) {
    const fs::path target = dir / name;
    if (fs::is_symlink(fs::symlink_status(target, ec)))
      refuse(out, fmt::format("'{}' is a symbolic link: writing there would overwrite the file it points to",
                              target.string()),
             fmt::format("remove the link, or name another directory with {}", out.flag));
    for (const auto& input : inputs)
      if (present(target) && same_file(target, input))
        refuse(out, fmt::format("'{}' would replace the input '{}'", target.string(), input),
               "write the outputs to another directory, or move the input out of it");
  }
  for (OutputKind held : kinds_in(out.path))
    if (held != out.kind)
      refuse(out, fmt::format("'{}' holds {}: {} written there would mix with its files", out.path, describe(held),
                              describe(out.kind)),
             "write to a new directory, or delete the old one first");
}

}  // namespace clustertwin::core
