// Emulation needs Linux network namespaces: elsewhere (macOS) every call says so.
#include "exec/emulate/emulation.h"
#include "exec/executor.h"

namespace clustertwin::exec::emulate {

namespace {
[[noreturn]] void unsupported() {
  throw RunError("exec: emulate: emulated clusters need Linux network namespaces; run them on a Linux machine");
}
}  // namespace

bool supported(std::string* why) {
  if (why) *why = "emulated clusters need Linux network namespaces";
  return false;
}
bool netem_available() { return false; }
std::vector<std::string> list(const std::string&) { unsupported(); }
std::vector<int> delay_processes(const std::string&) { unsupported(); }
std::vector<DelayMeasurement> measure_delays(const EmulationPlan&, int) { unsupported(); }
std::vector<std::string> down(const std::string&) { unsupported(); }
double up(const EmulationPlan&) { unsupported(); }
Emulation::Emulation(EmulationPlan plan) : plan_(std::move(plan)) { unsupported(); }
Emulation::~Emulation() = default;
InNamespace::InNamespace(const std::string&) { unsupported(); }
InNamespace::~InNamespace() = default;

}  // namespace clustertwin::exec::emulate
