// A worker's data connections to the ranks it exchanges bytes with, and the poll() loop that moves
// them. One TCP connection per pair of ranks carries both directions. A ring step sends one chunk
// while it receives another (full duplex, on one or two sockets); a send drains messages arriving
// on the same connection, so two ranks sending to each other never wait on each other. This is the
// transport the collective runner is written against (an RDMA one would offer the same calls).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "exec/cancel.h"
#include "exec/settings.h"
#include "exec/socket.h"
#include "exec/wire.h"

namespace clustertwin::exec {

struct DataPlaneConfig {
  int rank = 0;
  std::vector<Endpoint> addresses;  // every rank's worker (index = rank)
  std::string token;
  // connect_timeout_s bounds opening all connections, handshakes included; an exchange that moves
  // no byte for op_timeout_s fails.
  RunSettings settings;
};

// One side of a ring step: `bytes` of a chunk of collective `tag`, ring step `step`.
struct ChunkOut {
  int peer = -1;
  int32_t tag = 0;
  uint32_t step = 0;
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;
};
struct ChunkIn {
  int peer = -1;
  int32_t tag = 0;
  uint32_t step = 0;
  uint8_t* data = nullptr;
  uint64_t bytes = 0;
  std::function<void(uint64_t)> on_data;  // bytes received so far, after each read: reduce as they land
};

class DataPlane {
 public:
  // Opens a connection to each of `peers`: this rank connects to higher ranks and accepts lower
  // ones on `listen_fd`; every connection starts with a hello carrying the token and the rank.
  // Throws RunError naming the peers that did not connect in time. `cancel` (may be null) wakes
  // any wait in this object.
  DataPlane(DataPlaneConfig config, const std::vector<int>& peers, int listen_fd, Cancel* cancel);
  ~DataPlane();
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  // Sends `out` while receiving `in` (either may have 0 bytes: that side is skipped). `what` names
  // the op for messages ("op 12 'grad.allreduce' (step 3), ring step 2").
  void exchange(const ChunkOut& out, const ChunkIn& in, const std::string& what);
  // The same for a round of several lanes (workloads/collectives.h): every send and receive at
  // once. Chunks for one peer share its connection: sends queue behind each other, and each frame
  // feeds the posted receive of its (tag, step).
  void exchange(const std::vector<ChunkOut>& outs, const std::vector<ChunkIn>& ins, const std::string& what);
  // A send/recv payload of `bytes` zero bytes, matched per (peer, tag) in order.
  void send_message(int peer, int32_t tag, uint64_t bytes, const std::string& what);
  void recv_message(int peer, int32_t tag, uint64_t bytes, const std::string& what);

  // "rank 2 (10.0.0.3:7000)"
  std::string who(int rank) const;

  struct Link;     // one connection's reader and writer state (data_plane.cc)

 private:
  Link& link(int peer, const std::string& what);
  // Polls until `done()`, reading and writing `readers` and writing `writers`, draining every other
  // link; throws Timeout after op_timeout_s without a byte moved, PeerLost when a reader's peer
  // goes away.
  void pump(const std::vector<Link*>& readers, const std::vector<Link*>& writers, const std::function<bool()>& done,
            const std::string& what);
  void connect_all(const std::vector<int>& peers, int listen_fd);
  // One step of an outgoing connection's handshake (data_plane.cc's Opening) after poll() found it
  // readable; incoming ones are served by an Acceptor.
  struct Opening;
  void advance(Opening& o, Clock::time_point deadline);
  void add_link(int peer, Fd fd);
  std::string missing_peers(const std::set<int>& waiting, const std::vector<std::unique_ptr<Opening>>& open) const;
  static void write_frame(int fd, wire::FrameType type, const std::string& payload, Clock::time_point deadline,
                          const std::string& who);

  DataPlaneConfig config_;
  Cancel* cancel_;
  std::map<int, std::unique_ptr<Link>> links_;
  std::vector<uint8_t> discard_;  // message payloads land here
};

}  // namespace clustertwin::exec
