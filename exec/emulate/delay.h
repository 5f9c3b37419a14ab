// One-way link delay in user space, for kernels without netem: iptables rules in a node's
// namespace send the packets leaving (or, behind a switch, entering) a shaped veth to an NFQUEUE,
// and one delay process per namespace holds each packet until arrival + the link's delay, then
// lets it go, in order. Linux only; built with libnetfilter-queue, a stub without it.
#pragma once

#include "exec/emulate/emulation.h"

namespace clustertwin::exec::emulate {

// The process name of a delay process (/proc/PID/comm): how `down` finds them in a namespace.
inline constexpr const char* kDelayProcessName = "ct-delay";

// Starts the delay process of `d` inside its namespace (detached: it outlives this process, and
// exits on SIGTERM or once its namespace is deleted). Returns its pid once every queue is bound;
// throws RunError naming the namespace, the queue and the fix otherwise, or when this build has
// no libnetfilter-queue.
int start_delay_process(const NamespaceDelays& d);

// True when this build can delay in user space (it was built with libnetfilter-queue).
bool user_space_delay_available();

}  // namespace clustertwin::exec::emulate
