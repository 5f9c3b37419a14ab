#include "exec/acceptor.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/channel.h"
#include "exec/errors.h"
#include "exec/handshake.h"
#include "exec/wire.h"

namespace clustertwin::exec {

namespace {
constexpr int kAcceptsPerServe = 64;  // then the pending connections get their turn

std::string strip_prefix(const char* what) {
  std::string s = what;
  return s.rfind("exec: ", 0) == 0 ? s.substr(6) : s;
}
}  // namespace

struct Acceptor::Pending {
  Fd fd;
  std::string peer;  // its address
  FrameReader reader;
  ServerHandshake server;
  Clock::time_point deadline;
  bool said_hello = false;  // the challenge went out

  Pending(Fd f, const Options& o)
      : fd(std::move(f)), peer(peer_address(fd.get())), server(o.role, o.token),
        deadline(deadline_after(o.limits.handshake_timeout_s)) {}

  // Handshake frames are a few hundred bytes: they fit an idle socket's buffer at once.
  void send(wire::FrameType type, const std::string& payload) const {
    std::string bytes = wire::encode_frame(type, payload);
    write_all(fd.get(), bytes.data(), bytes.size(), deadline, "a connection from " + peer);
  }
};

Acceptor::Acceptor(int listen_fd, Options options) : listen_fd_(listen_fd), o_(std::move(options)) {
  set_nonblocking(listen_fd_);
}

Acceptor::~Acceptor() = default;

void Acceptor::add_polls(std::vector<pollfd>& fds) const {
  fds.push_back({listen_fd_, POLLIN, 0});
  for (const auto& p : pending_) fds.push_back({p->fd.get(), POLLIN, 0});
}

Clock::time_point Acceptor::next_deadline() const {
  Clock::time_point t = kNoDeadline;
  for (const auto& p : pending_) t = std::min(t, p->deadline);
  return t;
}

size_t Acceptor::pending() const { return pending_.size(); }

void Acceptor::log(const std::string& line) const {
  std::string text = fmt::format("{}: {}", o_.log_prefix, line);
  if (o_.log)
    o_.log(text);
  else
    fmt::print(stderr, "{}\n", text);
}

std::vector<Accepted> Acceptor::serve(const pollfd* polled) {
  std::vector<Accepted> done;
  std::vector<char> finished(pending_.size(), 0);
  for (size_t i = 0; i < pending_.size(); ++i)
    if (polled[1 + i].revents) finished[i] = advance(*pending_[i], done);
  const auto now = Clock::now();
  const std::string what = o_.role == "data" ? "a data connection" : "a connection";
  for (size_t i = 0; i < pending_.size(); ++i)
    if (!finished[i] && now >= pending_[i]->deadline) {
      log(fmt::format("dropped {} from {}: no '{}' frame within {:.1f} s of connecting", what, pending_[i]->peer,
                      pending_[i]->said_hello ? "auth" : "hello", o_.limits.handshake_timeout_s));
      finished[i] = 1;
    }
  size_t k = 0;
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [&](const auto&) { return finished[k++] != 0; }),
                 pending_.end());
  if (polled[0].revents) accept_new();
  return done;
}

void Acceptor::accept_new() {
  for (int i = 0; i < kAcceptsPerServe; ++i) {
    Fd fd;
    try {
      fd = accept_now(listen_fd_);
    } catch (const RunError& e) {
      // Out of descriptors, say: the connections already waiting go on; the next poll retries.
      log(fmt::format("cannot accept a connection: {}", strip_prefix(e.what())));
      if (!pending_.empty()) drop_one_for_room();
      return;
    }
    if (!fd.valid()) return;
    if (pending_.size() >= std::max<size_t>(1, o_.limits.max_pending)) drop_one_for_room();
    pending_.push_back(std::make_unique<Pending>(std::move(fd), o_));
  }
}

void Acceptor::drop_one_for_room() {
  auto it = std::find_if(pending_.begin(), pending_.end(), [](const auto& p) { return !p->said_hello; });
  if (it == pending_.end()) it = pending_.begin();
  log(fmt::format("dropped {} from {}: {} connections were waiting to authenticate, the most this worker holds",
                  o_.role == "data" ? "a data connection" : "a connection", (*it)->peer, pending_.size()));
  pending_.erase(it);
}

bool Acceptor::advance(Pending& p, std::vector<Accepted>& done) {
  const std::string what = o_.role == "data" ? "a data connection" : "a connection";
  try {
    if (!p.reader.read_some(p.fd.get(), "a connection from " + p.peer)) return false;
    Frame f = p.reader.take();
    if (!p.said_hello) {
      if (f.type != wire::FrameType::Hello)
        throw Refused(fmt::format("expected a 'hello' frame, got '{}'", wire::name(f.type)));
      p.send(wire::FrameType::Challenge, p.server.on_hello(f.payload));
      p.said_hello = true;
      return false;
    }
    if (f.type == wire::FrameType::Error) {
      auto j = nlohmann::json::parse(f.payload, nullptr, false);
      log(fmt::format("dropped {} from {}: the client gave up the handshake: {}", what, p.peer,
                      j.is_object() ? j.value("message", f.payload) : f.payload));
      return true;
    }
    if (f.type != wire::FrameType::Auth)
      throw Refused(fmt::format("expected an 'auth' frame, got '{}'", wire::name(f.type)));
    std::string ok = p.server.on_auth(f.payload);
    if (o_.claim)
      if (std::string why = o_.claim(p.server.rank()); !why.empty()) throw Refused(why);
    p.send(wire::FrameType::HelloOk, ok);
    done.push_back({std::move(p.fd), p.server.rank(), p.peer});
  } catch (const Refused& e) {
    // Best effort: a stranger that stopped reading does not hold the worker up.
    std::string bytes = wire::encode_frame(wire::FrameType::Error,
                                           nlohmann::json{{"message", e.what()}, {"kind", "refused"}}.dump());
    try {
      const void* parts[] = {bytes.data()};
      size_t sizes[] = {bytes.size()};
      send_some(p.fd.get(), parts, sizes, 1, p.peer);
    } catch (const RunError&) {
    }
    log(fmt::format("refused {} from {}: {}", what, p.peer, e.what()));
  } catch (const PeerLost&) {
    log(fmt::format("dropped {} from {}: it closed the connection during the handshake", what, p.peer));
  } catch (const RunError& e) {
    log(fmt::format("dropped {} from {}: {}", what, p.peer, strip_prefix(e.what())));
  }
  return true;
}

}  // namespace clustertwin::exec
