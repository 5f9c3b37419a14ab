#include "plan/mpi.h"

#include "core/diag.h"

#if CLUSTERTWIN_MPI
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "plan/outcome_json.h"
#endif

namespace clustertwin::plan {

#if CLUSTERTWIN_MPI
namespace {
// MPI_Init once per process, MPI_Finalize at exit (after the outputs are written).
void ensure_initialised() {
  int ready = 0;
  MPI_Initialized(&ready);
  if (ready) return;
  MPI_Init(nullptr, nullptr);
  std::atexit([] {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Finalize();
  });
}
}  // namespace

bool mpi_available() { return true; }

std::optional<std::vector<Outcome>> evaluate_on_mpi(const Spec& s, const std::vector<Candidate>& candidates,
                                                    EvalOptions opt, EvalStats* stats) {
  ensure_initialised();
  const auto start = std::chrono::steady_clock::now();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  opt.share = rank;
  opt.shares = size;
  opt.progress = opt.progress && rank == 0;
  EvalStats mine;
  const auto outcomes = evaluate(s, candidates, opt, &mine);

  // This rank's share as one JSON text: [[index, outcome], ...].
  nlohmann::json part = nlohmann::json::array();
  for (size_t i = static_cast<size_t>(rank); i < candidates.size(); i += static_cast<size_t>(size))
    part.push_back({i, outcome_to_json(outcomes[i])});
  const std::string text = part.dump();
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(size), offsets(size);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (rank == 0) {
    long long total = 0;
    for (int r = 0; r < size; ++r) offsets[r] = static_cast<int>(total), total += lengths[r];
    all.resize(static_cast<size_t>(total));
  }
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  int counts[2] = {mine.simulations, mine.cache_hits}, sums[2] = {0, 0};
  MPI_Reduce(counts, sums, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
  double seconds = mine.simulate_seconds, seconds_sum = 0;
  MPI_Reduce(&seconds, &seconds_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank != 0) return std::nullopt;

  std::vector<Outcome> merged(candidates.size());
  for (int r = 0; r < size; ++r)
    for (const auto& entry : nlohmann::json::parse(all.substr(offsets[r], lengths[r])))
      merged.at(entry.at(0).get<size_t>()) = outcome_from_json(entry.at(1));
  if (stats) {
    stats->simulations = sums[0];
    stats->cache_hits = sums[1];
    stats->simulate_seconds = seconds_sum;
    stats->rejected = static_cast<int>(
        std::count_if(merged.begin(), merged.end(), [](const Outcome& o) { return o.status == Status::Rejected; }));
    stats->duplicates = static_cast<int>(
        std::count_if(merged.begin(), merged.end(), [](const Outcome& o) { return o.status == Status::Duplicate; }));
    stats->wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return merged;
}
#else
bool mpi_available() { return false; }

std::optional<std::vector<Outcome>> evaluate_on_mpi(const Spec&, const std::vector<Candidate>&, EvalOptions,
                                                    EvalStats*) {
  throw core::InputError(
      "--mpi: error: this clustertwin was built without MPI\n"
      "hint: install Open MPI (Debian: libopenmpi-dev openmpi-bin; scripts/setup.sh does), reconfigure and rebuild");
}
#endif

}  // namespace clustertwin::plan
