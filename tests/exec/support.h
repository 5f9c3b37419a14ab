// Helpers for the executor tests: hand-built Programs and topologies, and ranks run as threads.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/program.h"
#include "exec/socket.h"
#include "topologies/topology.h"

namespace clustertwin::exec::test {

// One collective per rank over `group` (all ranks when empty), of `count` fp32 elements.
core::Program collective_program(int world, core::CollectiveKind kind, int64_t count, std::vector<int32_t> group = {});

// `world` compute nodes with a device of `flops` FLOP/s and `bandwidth` B/s (efficiency 1).
topo::Topology flat_topology(int world, double flops = 1e12, double bandwidth = 1e11);

// Listening sockets on 127.0.0.1 with free ports, and their endpoints.
struct Listeners {
  std::vector<Fd> fds;
  std::vector<Endpoint> addrs;
};
Listeners listen_loopback(int n);

// A TCP connection to 127.0.0.1:ep.port that never sends a byte; the connect is not waited for (a
// worker that accepts one connection at a time leaves the rest in the listen queue).
Fd idle_connection(const Endpoint& ep);

// Runs fn(rank) on n threads; rethrows the first exception (by rank) after all joined.
void run_ranks(int n, const std::function<void(int)>& fn);

}  // namespace clustertwin::exec::test
