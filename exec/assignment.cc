#include "exec/assignment.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/executor.h"

namespace clustertwin::exec {

namespace {
// The ops travel as a one-rank Program so core's JSON form is the only op encoding.
core::Program rank_program(const Assignment& a) {
  core::Program p;
  p.name = a.program_name;
  p.steps = a.steps;
  p.groups = a.groups;
  p.ranks.push_back({a.rank, a.ops});
  return p;
}
}  // namespace

std::string rank_program_hash(const Assignment& a) { return core::program_hash(rank_program(a)); }

std::string to_json_text(const Assignment& a) {
  core::Program p = rank_program(a);
  nlohmann::json addrs = nlohmann::json::array();
  for (const auto& e : a.addresses) addrs.push_back(e.str());
  nlohmann::json j{{"rank", a.rank},
                   {"world", a.world},
                   {"addresses", addrs},
                   {"settings", a.settings},
                   {"program_hash", a.program_hash},
                   {"program", core::to_json(p)},
                   {"modelled_seconds", a.modelled_seconds}};
  return j.dump();
}

Assignment assignment_from_json(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    Assignment a;
    a.rank = j.at("rank").get<int32_t>();
    a.world = j.at("world").get<int32_t>();
    for (const auto& e : j.at("addresses")) a.addresses.push_back(parse_endpoint(e.get<std::string>(), "peer address"));
    a.settings = j.at("settings").get<RunSettings>();
    a.program_hash = j.at("program_hash").get<std::string>();
    core::Program p = core::program_from_json(j.at("program"));
    a.program_name = p.name;
    a.steps = p.steps;
    a.groups = p.groups;
    if (p.ranks.size() != 1 || p.ranks[0].rank != a.rank)
      throw std::invalid_argument("the program must hold exactly this rank's ops");
    a.ops = std::move(p.ranks[0].ops);
    a.modelled_seconds = j.at("modelled_seconds").get<std::vector<double>>();
    if (a.world < 1 || a.rank < 0 || a.rank >= a.world || a.addresses.size() != static_cast<size_t>(a.world))
      throw std::invalid_argument(fmt::format("rank {} of world {} with {} addresses", a.rank, a.world, a.addresses.size()));
    if (a.modelled_seconds.size() != a.ops.size())
      throw std::invalid_argument("modelled_seconds must hold one entry per op");
    return a;
  } catch (const RunError&) {
    throw;
  } catch (const std::exception& e) {
    throw RunError(fmt::format("exec: malformed assignment from the coordinator: {}", e.what()));
  }
}

std::string to_json_text(const StartInfo& s) {
  return nlohmann::json{{"origin_ns", s.origin_ns}, {"clock_offset_ns", s.clock_offset_ns}}.dump();
}

StartInfo start_from_json(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    return {j.at("origin_ns").get<int64_t>(), j.at("clock_offset_ns").get<int64_t>()};
  } catch (const std::exception& e) {
    throw RunError(fmt::format("exec: malformed start frame from the coordinator: {}", e.what()));
  }
}

}  // namespace clustertwin::exec
