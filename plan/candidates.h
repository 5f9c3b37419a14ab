// Candidates: the base documents plus one value of every axis (the cartesian product, in axis
// order, the last axis varying fastest). A candidate whose YAML equals an earlier one's is marked a
// duplicate (a bucket axis under a pipeline strategy edits nothing) and is not evaluated again.
#pragma once

#include <string>
#include <vector>

#include "plan/edits.h"
#include "plan/spec.h"

namespace clustertwin::plan {

struct Candidate {
  int id = 0;
  std::vector<std::string> labels;  // the value of each axis, in axis order
  std::string topology_yaml, workload_yaml;
  int duplicate_of = -1;  // the earlier candidate with the same two documents, -1: none
  std::string label() const;  // "tb5, fsdp" ("base" with no axis)
};

// The base documents of a plan: the files as YAML trees, checked by loading them (a mistake in the
// base is reported at its own file:line:col, not once per candidate). A topology's `calibration:`
// path becomes absolute, since candidates are written elsewhere.
Documents load_base(const Spec& s);

// The number of candidates (the product of the axes' sizes).
size_t candidate_count(const Spec& s);
std::vector<Candidate> expand(const Spec& s, const Documents& base);

}  // namespace clustertwin::plan
