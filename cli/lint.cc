#include "cli/lint.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/diag.h"
#include "workloads/talking.h"

namespace clustertwin::cli {

topo::CheckOptions check_options(const core::Program& p) { return work::talking_pairs(p); }

std::vector<std::string> ignored_codes(const std::vector<std::string>& given) {
  std::vector<std::string> codes, known;
  for (const auto& c : topo::lint_codes()) known.insert(known.end(), {std::string(c.code), std::string(c.name)});
  for (const auto& g : given) {
    const topo::LintCode* c = topo::find_lint_code(g);
    if (!c)
      throw core::InputError(core::format_diagnostic({"--ignore-check", 0, 0}, {}, fmt::format("unknown check '{}'", g),
                                                     core::suggest(g, known)));
    codes.emplace_back(c->code);
  }
  return codes;
}

void print_findings(const topo::Topology& t, const std::vector<topo::Finding>& findings, std::FILE* to) {
  for (const auto& f : findings) fmt::print(to, "{}\n", topo::format_finding(t, f));
}

namespace {
// "T001, T008" and "--ignore-check T001 --ignore-check T008": each code once, in code order.
std::vector<std::string> codes_of(const std::vector<topo::Finding>& findings) {
  std::set<std::string> codes;
  for (const auto& f : findings) codes.insert(f.code);
  return {codes.begin(), codes.end()};
}

std::string plural(size_t n, std::string_view what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }
}  // namespace

void require_checked(const topo::Topology& t, const core::Program& p, const std::vector<std::string>& ignored) {
  std::vector<topo::Finding> shown, skipped, errors;
  for (auto& f : topo::check(t, check_options(p))) {
    bool ignore = std::find(ignored.begin(), ignored.end(), f.code) != ignored.end();
    if (!ignore && f.severity == topo::Severity::Error) errors.push_back(f);
    (ignore ? skipped : shown).push_back(std::move(f));
  }
  print_findings(t, shown, stderr);
  if (!skipped.empty())
    fmt::print(stderr, "predict: ignoring {} of check ({}), as --ignore-check asks\n", plural(skipped.size(), "finding"),
               fmt::join(codes_of(skipped), ", "));
  if (errors.empty()) return;
  std::vector<std::string> flags;
  for (const auto& c : codes_of(errors)) flags.push_back("--ignore-check " + c);
  throw core::InputError(fmt::format(
      "predict: error: refusing to predict: check finds {} in {} ({})\n"
      "hint: fix the topology, or pass {} to predict it anyway (a what-if)",
      plural(errors.size(), "error"), t.file, fmt::join(codes_of(errors), ", "), fmt::join(flags, " ")));
}

void warn_findings(const topo::Topology& t, const core::Program& p) {
  print_findings(t, topo::check(t, check_options(p)), stderr);
}

}  // namespace clustertwin::cli
