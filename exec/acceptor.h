// The server side of the handshake (handshake.h) for every connection a listening socket accepts,
// all at once from the caller's poll() loop, so a stranger who connects and says nothing (or too
// little, too slowly) never delays a real peer: each unauthenticated connection has its own short
// deadline, and beyond a cap on how many may wait the one that has shown least is dropped. The
// worker's control port (worker.cc) and its data plane (data_plane.cc) both accept through it.
#pragma once

#include <poll.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/socket.h"

namespace clustertwin::exec {

struct AcceptLimits {
  // From accept() to the client's auth frame; then the connection is dropped. A real client sends
  // its hello as it connects and answers the challenge at once: one round trip.
  double handshake_timeout_s = 3;
  // Unauthenticated connections held at once. A new one beyond drops a connection that has not sent
  // its hello yet, the oldest first (else the oldest of all), so a flood of idle connections never
  // pushes out a client that is talking.
  size_t max_pending = 64;
};

// A connection whose handshake finished: the client proved the token.
struct Accepted {
  Fd fd;
  int rank = -1;     // the client's rank (-1: the coordinator)
  std::string peer;  // its address, "10.0.0.3:51234"
};

class Acceptor {
 public:
  // Decides an authenticated client's claimed rank before hello-ok: empty accepts it (the caller may
  // record the claim), else the reason it is refused ("rank 3 is not a peer this rank is waiting for").
  using Claim = std::function<std::string(int rank)>;
  // Receives one line per connection refused or dropped, naming its address; default: stderr.
  using Log = std::function<void(const std::string&)>;

  struct Options {
    std::string role;   // "control" or "data": what clients must ask for
    std::string token;  // the run token, keying the proofs
    AcceptLimits limits{};
    // Starts every log line: "clustertwin-worker" or "clustertwin-worker: rank 2".
    std::string log_prefix = "clustertwin-worker";
    Claim claim{};
    Log log{};
  };

  Acceptor(int listen_fd, Options options);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Appends the listener and every pending connection to `fds`, for the caller's poll().
  void add_polls(std::vector<pollfd>& fds) const;
  // After that poll(): `polled` points at the entries add_polls appended. Advances the handshakes that
  // are readable, accepts new connections, drops expired ones; returns those that finished.
  std::vector<Accepted> serve(const pollfd* polled);
  // The earliest deadline of a pending connection (kNoDeadline when none waits): poll no longer.
  Clock::time_point next_deadline() const;
  size_t pending() const;

  struct Pending;  // one connection in its handshake (acceptor.cc)

 private:
  void accept_new();
  void drop_one_for_room();
  // Reads and answers what one connection sent; true when its handshake finished or it was dropped.
  bool advance(Pending& p, std::vector<Accepted>& done);
  void log(const std::string& line) const;

  int listen_fd_;
  Options o_;
  std::vector<std::unique_ptr<Pending>> pending_;
};

}  // namespace clustertwin::exec
