// `clustertwin check`: a lint over a topology (and, when given, the rank pairs a workload uses),
// catching the wiring mistakes that break or slow a real cluster. Each finding has a stable code
// (documented in topologies/README.md), a position in the file and a fix hint.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "topologies/routing.h"
#include "topologies/topology.h"

namespace clustertwin::topo {

enum class Severity { Warning, Error };

struct LintCode {
  std::string_view code;  // "T001"
  std::string_view name;  // "tb-bridge-loop"
  Severity severity;
  std::string_view summary;
};
// Every code check can report, in code order.
const std::vector<LintCode>& lint_codes();
// The entry of a code ("T008") or of a name ("ports-exceeded"); nullptr when neither.
const LintCode* find_lint_code(std::string_view code_or_name);
// The code a pair that cannot talk is reported under: T007 no route, T010 forwarding off, T009
// subnets, T003 RDMA not forwarded, T011 the rest.
const LintCode& lint_code(Blocked why);

struct Finding {
  std::string code;  // "T001"
  std::string name;  // "tb-bridge-loop"
  Severity severity = Severity::Error;
  core::SourcePos pos;
  std::string message;
  std::string hint;
};

struct CheckOptions {
  // Ordered rank pairs (rank i runs on rank_nodes()[i]) that exchange data, and those of them
  // that collectives use. Absent: every pair (no workload given, so any pair may have to talk).
  std::optional<std::vector<std::pair<int, int>>> talking;
  std::optional<std::vector<std::pair<int, int>>> collective;
};

// Findings in file order.
std::vector<Finding> check(const Topology& t, const CheckOptions& options = {});

// "file:line:col: warning: [T004 wifi-collective] message", the source line and a caret, "hint: ...".
std::string format_finding(const Topology& t, const Finding& f);

}  // namespace clustertwin::topo
