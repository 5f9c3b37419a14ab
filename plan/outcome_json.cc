#include "plan/outcome_json.h"

#include <nlohmann/json.hpp>

namespace clustertwin::plan {
namespace {
// The Summary's scalars (per-rank and per-op detail stays with the rank that simulated it).
nlohmann::json summary_json(const core::Summary& s) {
  return {{"step_seconds", s.step_seconds},
          {"step_mean", s.step_mean},
          {"step_p50", s.step_p50},
          {"step_p95", s.step_p95},
          {"samples_per_second", s.samples_per_second},
          {"tokens_per_second", s.tokens_per_second},
          {"compute", s.compute},
          {"communication", s.communication},
          {"exposed_communication", s.exposed_communication},
          {"waiting", s.waiting},
          {"bubble", s.bubble},
          {"idle", s.idle},
          {"time_to_first_token", s.time_to_first_token},
          {"decode_tokens_per_second", s.decode_tokens_per_second},
          {"prefill_tokens_per_second", s.prefill_tokens_per_second}};
}

core::Summary summary_of(const nlohmann::json& j) {
  core::Summary s;
  s.step_seconds = j.at("step_seconds").get<std::vector<double>>();
  j.at("step_mean").get_to(s.step_mean);
  j.at("step_p50").get_to(s.step_p50);
  j.at("step_p95").get_to(s.step_p95);
  j.at("samples_per_second").get_to(s.samples_per_second);
  j.at("tokens_per_second").get_to(s.tokens_per_second);
  j.at("compute").get_to(s.compute);
  j.at("communication").get_to(s.communication);
  j.at("exposed_communication").get_to(s.exposed_communication);
  j.at("waiting").get_to(s.waiting);
  j.at("bubble").get_to(s.bubble);
  j.at("idle").get_to(s.idle);
  j.at("time_to_first_token").get_to(s.time_to_first_token);
  j.at("decode_tokens_per_second").get_to(s.decode_tokens_per_second);
  j.at("prefill_tokens_per_second").get_to(s.prefill_tokens_per_second);
  return s;
}
}  // namespace

nlohmann::json outcome_to_json(const Outcome& o) {
  return {{"status", static_cast<int>(o.status)},
          {"refused_by", o.refused_by},
          {"reason", o.reason},
          {"diagnostic", o.diagnostic},
          {"summary", summary_json(o.summary)},
          {"world", o.world},
          {"micro_batches", o.micro_batches},
          {"inference", o.inference},
          {"tokens_per_step", o.tokens_per_step},
          {"memory_peak", o.memory_peak},
          {"power", o.power},
          {"price", o.price},
          {"bound", o.bound},
          {"forwarders", o.forwarders},
          {"warnings", o.warnings},
          {"program_hash", o.program_hash},
          {"cached", o.cached},
          {"topology_yaml", o.topology_yaml},
          {"workload_yaml", o.workload_yaml}};
}

Outcome outcome_from_json(const nlohmann::json& j) {
  Outcome o;
  o.status = static_cast<Status>(j.at("status").get<int>());
  j.at("refused_by").get_to(o.refused_by);
  j.at("reason").get_to(o.reason);
  j.at("diagnostic").get_to(o.diagnostic);
  o.summary = summary_of(j.at("summary"));
  j.at("world").get_to(o.world);
  j.at("micro_batches").get_to(o.micro_batches);
  j.at("inference").get_to(o.inference);
  j.at("tokens_per_step").get_to(o.tokens_per_step);
  j.at("memory_peak").get_to(o.memory_peak);
  j.at("power").get_to(o.power);
  j.at("price").get_to(o.price);
  j.at("bound").get_to(o.bound);
  o.forwarders = j.at("forwarders").get<std::vector<std::string>>();
  o.warnings = j.at("warnings").get<std::vector<std::string>>();
  j.at("program_hash").get_to(o.program_hash);
  j.at("cached").get_to(o.cached);
  j.at("topology_yaml").get_to(o.topology_yaml);
  j.at("workload_yaml").get_to(o.workload_yaml);
  return o;
}

}  // namespace clustertwin::plan
