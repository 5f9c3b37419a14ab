// Built instead of the simulator when -DCLUSTERTWIN_SIM=OFF (macOS and Raspberry Pi workers).
#include "sim/simulator.h"

namespace clustertwin::sim {

bool available() { return false; }

std::vector<core::OpRecord> simulate(const core::Program&, const topo::Topology&, SimStats*) {
  throw SimError("sim: this clustertwin was built without SimGrid (-DCLUSTERTWIN_SIM=OFF); "
                 "run 'predict' on a machine with the full build");
}

std::string model_description() { return "unavailable (built without SimGrid)"; }

}  // namespace clustertwin::sim
