#include "support.h"

#include <gtest/gtest.h>


#include <fmt/format.h>

namespace clustertwin::work::support {

::testing::AssertionResult runnable(const core::Program& p) {
  try {
    core::validate(p);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
  Timing t = time_program(p, [](const core::Op&) { return 1.0; });
  if (!t.stuck.empty()) return ::testing::AssertionFailure() << "deadlock: " << t.stuck;
  return ::testing::AssertionSuccess();
}

Cluster cluster(int n, double memory, double flops) {
  topo::Device d;
  d.preset = "test-device";
  d.peak_fp32 = d.peak_fp16 = flops;
  d.memory_bandwidth = 1e11;
  d.memory = memory;
  Cluster c = uniform_cluster(n, d);
  for (auto& r : c.ranks) r.capacity = memory;
  return c;
}

Workload parse(const std::string& yaml) { return parse_workload(yaml, "w.yaml"); }

std::string error_of(const std::string& yaml) {
  try {
    parse_workload(yaml, "w.yaml");
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace clustertwin::work::support
