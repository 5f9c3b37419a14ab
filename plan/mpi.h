// A plan's sweep as an MPI job (`plan --mpi`, run under `mpirun -H a,b,c clustertwin plan ... --mpi`):
// every rank expands the same candidate list, evaluates its share (index % size == rank) on all its
// cores, and rank 0 gathers the outcomes (plan/outcome_json.h) and the counts. Built when CMake
// finds MPI (Open MPI from Debian's libopenmpi-dev); otherwise the call says so.
#pragma once

#include <optional>
#include <vector>

#include "plan/evaluate.h"

namespace clustertwin::plan {

// Whether this build can run a sweep on MPI.
bool mpi_available();

// Evaluates `candidates` across the job's ranks. On rank 0: every candidate's outcome, in order,
// and `stats` summed over ranks. On the other ranks: nullopt (they have nothing to print).
// Throws core::InputError when built without MPI.
std::optional<std::vector<Outcome>> evaluate_on_mpi(const Spec& s, const std::vector<Candidate>& candidates,
                                                    EvalOptions opt, EvalStats* stats);

}  // namespace clustertwin::plan
