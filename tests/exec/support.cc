#include "support.h"

#include <mutex>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace clustertwin::exec::test {

Fd idle_connection(const Endpoint& ep) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  set_nonblocking(fd.get());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(ep.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  return fd;
}

core::Program collective_program(int world, core::CollectiveKind kind, int64_t count, std::vector<int32_t> group) {
  core::Program p;
  p.name = "collective";
  if (group.empty())
    for (int r = 0; r < world; ++r) group.push_back(r);
  p.groups = {group};
  for (int r = 0; r < world; ++r) {
    p.ranks.push_back({r, {}});
    if (std::find(group.begin(), group.end(), r) == group.end()) continue;
    core::Op op;
    op.kind = core::OpKind::Collective;
    op.phase = core::Phase::Comm;
    op.label = "test.collective";
    op.collective = kind;
    op.bytes = static_cast<double>(count) * 4;
    op.group = 0;
    p.ranks.back().ops.push_back(op);
  }
  return p;
}

topo::Topology flat_topology(int world, double flops, double bandwidth) {
  topo::Topology t;
  t.name = "flat";
  for (int r = 0; r < world; ++r) {
    topo::Node n;
    n.name = "n" + std::to_string(r);
    topo::Device d;
    d.preset = "test";
    d.peak_fp32 = d.peak_fp16 = flops;
    d.memory_bandwidth = bandwidth;
    d.memory = 1e9;
    n.device = d;
    n.address = "127.0.0.1";
    t.nodes.push_back(n);
  }
  return t;
}

Listeners listen_loopback(int n) {
  Listeners l;
  for (int r = 0; r < n; ++r) {
    l.fds.push_back(listen_on({"127.0.0.1", 0}));
    l.addrs.push_back({"127.0.0.1", local_port(l.fds.back().get())});
  }
  return l;
}

void run_ranks(int n, const std::function<void(int)>& fn) {
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(r);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace clustertwin::exec::test
