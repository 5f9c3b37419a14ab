// The verdict of a plan: candidates ranked by the objective, why each loses to the best (the part
// of the step that grew, per token, and what refused the rejected ones), and the table, CSV and JSON
// forms of it; the winner's two documents written where `predict` and `run` read them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "plan/evaluate.h"

namespace clustertwin::plan {

// The objective's value (higher is better for tokens/s; lower for times), and its text.
double objective_value(const Spec& s, const Outcome& o);
std::string objective_text(const Spec& s, const Outcome& o);
// Tokens/s as the planner compares them: decode tokens/s for inference, all tokens/s for training.
double tokens_per_second(const Outcome& o);
// Energy per token at the devices' preset power; 0 when a device's power is unknown.
double joules_per_token(const Outcome& o);
// Tokens/s per US dollar of devices; 0 when a device's price is unknown.
double tokens_per_dollar(const Outcome& o);

// Indices of the evaluated candidates, best first (ties by candidate order), then the rejected.
std::vector<int> ranking(const Spec& s, const std::vector<Outcome>& outcomes);

// Why candidate `o` loses to `best`: the step part that costs it most per token, forwarding hubs
// on its routes the best avoids; for a rejected one, what refused it.
std::string why_loses(const Outcome& o, const Outcome& best);

// The terminal table: the `top` best, then the rejected grouped by reason.
std::string table(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o, int top);
// One row per candidate (duplicates included), a header row first.
std::string csv(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o);
nlohmann::json to_json(const Spec& s, const std::vector<Candidate>& c, const std::vector<Outcome>& o);

// Writes DIR/plan.csv, DIR/plan.json, DIR/plan.html (plan/html.h), DIR/best/topology.yaml and DIR/best/workload.yaml (when a
// candidate was evaluated). Returns the best's index or -1.
int write_outputs(const std::string& dir, const Spec& s, const std::vector<Candidate>& c,
                  const std::vector<Outcome>& o);

}  // namespace clustertwin::plan
