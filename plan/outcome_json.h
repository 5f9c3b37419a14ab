// An Outcome as JSON and back, so the ranks of an MPI sweep (plan/mpi.h) can hand their share to
// rank 0: every field the ranking, the table, the CSV, the JSON and plan.html read.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "plan/evaluate.h"

namespace clustertwin::plan {

nlohmann::json outcome_to_json(const Outcome& o);
// Throws nlohmann::json::exception when a field is missing or of the wrong type.
Outcome outcome_from_json(const nlohmann::json& j);

}  // namespace clustertwin::plan
