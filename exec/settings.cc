#include "exec/settings.h"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace clustertwin::exec {

std::string_view name(ComputeMode m) { return m == ComputeMode::Real ? "real" : "modelled"; }

void to_json(nlohmann::json& j, ComputeMode m) { j = name(m); }

void from_json(const nlohmann::json& j, ComputeMode& m) {
  const auto text = j.get<std::string>();
  if (text != "real" && text != "modelled") throw std::invalid_argument(fmt::format("unknown compute mode '{}'", text));
  m = text == "real" ? ComputeMode::Real : ComputeMode::Modelled;
}

namespace {
// The one list of the fields that travel to the workers.
template <class Settings, class Visit>
void fields(Settings& s, Visit&& visit) {
  visit("compute", s.compute);
  visit("out_dir", s.out_dir);
  visit("op_timeout_s", s.op_timeout_s);
  visit("connect_timeout_s", s.connect_timeout_s);
  visit("launch_timeout_s", s.launch_timeout_s);
  visit("heartbeat_timeout_s", s.heartbeat_timeout_s);
  visit("corrupt_rank", s.corrupt_rank);
}
}  // namespace

void to_json(nlohmann::json& j, const RunSettings& s) {
  j = nlohmann::json::object();
  fields(s, [&](const char* key, const auto& value) { j[key] = value; });
}

// A field the sender did not know keeps its default.
void from_json(const nlohmann::json& j, RunSettings& s) {
  fields(s, [&](const char* key, auto& value) {
    if (j.contains(key)) j.at(key).get_to(value);
  });
}

}  // namespace clustertwin::exec
