// Built when libnetfilter-queue was not found: user-space delay says which package it needs.
#include "exec/emulate/delay.h"
#include "exec/emulate/emulation.h"
#include "exec/executor.h"

namespace clustertwin::exec::emulate {

bool user_space_delay_available() { return false; }

int start_delay_process(const NamespaceDelays& d) {
  throw RunError("exec: emulate: --delay: this kernel has no netem, and this build has no libnetfilter-queue to delay '" +
                 d.ns +
                 "' in user space — install the Debian package libnetfilter-queue-dev (scripts/setup.sh does), then "
                 "rebuild (cmake finds it with pkg-config)");
}

}  // namespace clustertwin::exec::emulate
