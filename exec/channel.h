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
  // One whole frame of at most `max_payload` bytes. Throws RunError naming who() for a malformed
  // or oversized frame or another protocol version, PeerLost on EOF, Timeout when the deadline passes.
  Frame recv(Clock::time_point deadline, uint32_t max_payload = wire::kMaxPayload);
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

// Reads one frame at a time from a non-blocking socket without ever waiting, for poll() loops that
// serve several connections at once (the data plane's handshakes). Frames are bounded by
// `max_payload`, the handshake bound unless told otherwise.
class FrameReader {
 public:
  explicit FrameReader(uint32_t max_payload = wire::kMaxHandshakePayload) : max_(max_payload) {}
  // Reads what the socket holds; true when a whole frame is ready for take(). Throws Refused
  // (malformed, oversized, other version: what() is the reason), PeerLost on EOF.
  bool read_some(int fd, const std::string& who);
  Frame take();

 private:
  uint32_t max_;
  uint8_t head_[wire::kHeaderSize] = {};
  size_t head_got_ = 0;
  bool have_head_ = false;
  Frame frame_;
  size_t got_ = 0;
};

// Checks a handshake frame's header: magic, this protocol version, the handshake bound. Throws
// Refused with the reason to send back ("protocol version 3 refused: this worker speaks 2 ...").
wire::Header decode_handshake_header(const uint8_t* bytes);

// Both ends of a connection's handshake (handshake.h). role "control" (coordinator -> worker) or
// "data" (worker -> worker, with the connecting rank). `token` is the run token: it keys the
// proofs and never leaves this process.
struct Hello {
  std::string role;
  std::string token;
  int rank = -1;
};

// Client side: hello, challenge, auth, hello-ok. Throws RunError with the worker's reason when it
// refuses (wrong token, wrong role, other version), or when the worker fails to prove the token.
void say_hello(Channel& c, const Hello& h, Clock::time_point deadline);
// Server side: on a refusal (wrong token, role or version, a malformed frame) answers with an Error
// frame naming the reason and returns nullopt (the caller drops the connection and goes on
// serving); `why` receives that reason for the log. Otherwise the client's role and rank.
std::optional<Hello> accept_hello(Channel& c, std::string_view role, const std::string& token,
                                  Clock::time_point deadline, std::string& why);
// Sends an Error frame {message: why, kind: refused}; a peer already gone is ignored.
void refuse(Channel& c, const std::string& why, Clock::time_point deadline);

}  // namespace clustertwin::exec
