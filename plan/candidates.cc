#include "plan/candidates.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/diag.h"
#include "core/yaml_doc.h"
#include "topologies/topology.h"
#include "workloads/workload.h"

namespace clustertwin::plan {

std::string Candidate::label() const { return labels.empty() ? "base" : fmt::format("{}", fmt::join(labels, ", ")); }

Documents load_base(const Spec& s) {
  topo::load_topology(s.topology, s.file.empty() ? "-t/--topology" : s.file);
  work::load_workload(s.workload, s.file.empty() ? "-w/--workload" : s.file);
  Documents d{YAML::Clone(core::YamlDoc::load(s.topology).root()), YAML::Clone(core::YamlDoc::load(s.workload).root())};
  if (d.topology["calibration"] && d.topology["calibration"].IsScalar()) {
    std::filesystem::path p = d.topology["calibration"].as<std::string>();
    if (p.is_relative())
      d.topology["calibration"] =
          std::filesystem::absolute(std::filesystem::path(s.topology).parent_path() / p).lexically_normal().string();
  }
  return d;
}

size_t candidate_count(const Spec& s) {
  size_t n = 1;
  for (const auto& a : s.axes) n *= a.values.size();
  return n;
}

namespace {
// Nodes a remove_nodes or a one-cable link value names must be in the base, and that cable too: a
// typo never silently edits nothing.
void check_named(const Spec& s, const Documents& base) {
  std::vector<std::string> names;
  for (const auto& n : base.topology["nodes"])
    if (n["name"]) names.push_back(n["name"].as<std::string>());
  auto require = [&](const std::string& n, const core::SourcePos& pos, const char* what) {
    if (std::find(names.begin(), names.end(), n) == names.end())
      throw core::InputError(core::format_diagnostic(
          pos, {}, fmt::format("{}: node '{}' is not in the base topology '{}'", what, n, s.topology),
          core::suggest(n, names)));
  };
  auto cabled = [&](const std::vector<std::string>& ends) {
    for (const auto& l : base.topology["links"]) {
      const YAML::Node b = l["between"];
      if (!b || !b.IsSequence() || b.size() != 2) continue;
      const std::string x = b[0].as<std::string>(), y = b[1].as<std::string>();
      if ((x == ends[0] && y == ends[1]) || (x == ends[1] && y == ends[0])) return true;
    }
    return false;
  };
  for (const auto& a : s.axes)
    for (const auto& v : a.values)
      for (const auto& e : v.edits) {
        if (const auto* rm = std::get_if<RemoveNodes>(&e))
          for (const auto& n : rm->names) require(n, rm->pos, "remove_nodes");
        if (const auto* lt = std::get_if<SetLinkType>(&e); lt && !lt->between.empty()) {
          for (const auto& n : lt->between) require(n, lt->pos, "link");
          if (!cabled(lt->between))
            throw core::InputError(core::format_diagnostic(
                lt->pos, {}, fmt::format("link: no link between '{}' and '{}' in the base topology '{}'", lt->between[0],
                                         lt->between[1], s.topology),
                "name two nodes a link of the base joins"));
        }
      }
}
}  // namespace

std::vector<Candidate> expand(const Spec& s, const Documents& base) {
  check_named(s, base);
  const size_t total = candidate_count(s);
  std::vector<Candidate> out;
  out.reserve(total);
  std::map<std::pair<std::string, std::string>, int> seen;
  std::vector<size_t> digit(s.axes.size(), 0);
  for (size_t i = 0; i < total; ++i) {
    size_t rest = i;
    for (size_t a = s.axes.size(); a-- > 0;) {
      digit[a] = rest % s.axes[a].values.size();
      rest /= s.axes[a].values.size();
    }
    Candidate c;
    c.id = static_cast<int>(i);
    std::vector<const Edit*> edits;
    for (size_t a = 0; a < s.axes.size(); ++a) {
      const AxisValue& v = s.axes[a].values[digit[a]];
      c.labels.push_back(v.label);
      for (const auto& e : v.edits) edits.push_back(&e);
    }
    const Documents d = apply_edits(base, edits);
    c.topology_yaml = emit(d.topology);
    c.workload_yaml = emit(d.workload);
    auto [it, fresh] = seen.try_emplace({c.topology_yaml, c.workload_yaml}, c.id);
    if (!fresh) c.duplicate_of = it->second;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace clustertwin::plan
