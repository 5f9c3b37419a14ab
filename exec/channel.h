// A connection carrying whole frames with JSON payloads: the control connection between the
// coordinator and a worker, and the hello exchange that opens every connection.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "exec/socket.h"
#include "exec/wire.h"

namespace clustertwin::exec {

struct Frame {
  wire::FrameType type = wire::FrameType::Hello;
  std::string payload;
  nlohmann::json json() const;  // the payload parsed; throws RunError when it is not JSON
};

class Channel {
 public:
  Channel() = default;
  Channel(Fd fd, std::string who) : fd_(std::move(fd)), who_(std::move(who)) {}

  void send(wire::FrameType type, std::string_view payload, Clock::time_point deadline);
  void send(wire::FrameType type, const nlohmann::json& payload, Clock::time_point deadline);
  // One whole frame. Throws RunError naming who() for a malformed frame or another protocol
  // version, PeerLost on EOF, Timeout when the deadline passes.
  Frame recv(Clock::time_point deadline);
  // A frame the peer sent is an Error frame: rethrow its message as RunError (or `unexpected`
  // when the type is not `want`).
  void expect(const Frame& f, wire::FrameType want) const;

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  const std::string& who() const { return who_; }
  Fd take() { return std::move(fd_); }
  void close() { fd_.reset(); }

 private:
  Fd fd_;
  std::string who_;  // "rank 2 (10.0.0.3:7000)", for messages
};

// The first frame of every connection. role "control" (coordinator -> worker) or "data" (worker
// -> worker, with the connecting rank).
struct Hello {
  std::string role;
  std::string token;
  int rank = -1;
};

// Client side: sends the hello and waits for HelloOk; throws RunError with the worker's reason
// when it refuses (wrong token, wrong role, other protocol version).
void say_hello(Channel& c, const Hello& h, Clock::time_point deadline);
// Server side: reads the hello and checks version, role and token; on a mismatch answers with an
// Error frame naming the reason and returns nullopt (the caller drops the connection and goes on
// serving). `why` receives that reason for the log.
std::optional<Hello> accept_hello(Channel& c, std::string_view role, const std::string& token,
                                  Clock::time_point deadline, std::string& why);

}  // namespace clustertwin::exec
