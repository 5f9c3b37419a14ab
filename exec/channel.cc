#include "exec/channel.h"

#include <poll.h>

#include <fmt/format.h>

#include "exec/errors.h"
#include "exec/handshake.h"

namespace clustertwin::exec {

nlohmann::json Frame::json() const {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded())
    throw RunError(fmt::format("exec: malformed '{}' frame: the payload is not JSON", wire::name(type)));
  return j;
}

void Channel::send(wire::FrameType type, std::string_view payload, Clock::time_point deadline) {
  std::string bytes = wire::encode_frame(type, payload);
  write_all(fd_.get(), bytes.data(), bytes.size(), deadline, who_);
}

void Channel::send(wire::FrameType type, const nlohmann::json& payload, Clock::time_point deadline) {
  send(type, std::string_view(payload.dump()), deadline);
}

Frame Channel::recv(Clock::time_point deadline, uint32_t max_payload) {
  uint8_t head[wire::kHeaderSize];
  read_all(fd_.get(), head, sizeof head, deadline, who_);
  wire::Header h;
  try {
    h = wire::decode_header(head);
  } catch (const wire::FrameError& e) {
    throw RunError(fmt::format("exec: {}: refused a frame: {}", who_, e.what()));
  }
  if (h.version != wire::kVersion)
    throw RunError(fmt::format("exec: {}: speaks protocol version {}, this build speaks {} — run the same "
                               "clustertwin build on every node",
                               who_, h.version, wire::kVersion));
  if (wire::is_data(h.type))
    throw RunError(fmt::format("exec: {}: refused a '{}' frame on a control connection", who_, wire::name(h.type)));
  if (h.length > max_payload)
    throw RunError(fmt::format("exec: {}: refused a frame: '{}' frame of {} bytes exceeds the {} byte limit here", who_,
                               wire::name(h.type), h.length, max_payload));
  Frame f{h.type, std::string(h.length, '\0')};
  read_all(fd_.get(), f.payload.data(), f.payload.size(), deadline, who_);
  return f;
}

void Channel::expect(const Frame& f, wire::FrameType want) const {
  if (f.type == want) return;
  if (f.type == wire::FrameType::Error) {
    auto j = nlohmann::json::parse(f.payload, nullptr, false);
    std::string msg = j.is_object() ? j.value("message", f.payload) : f.payload;
    throw RunError(fmt::format("exec: {}: {}", who_, msg));
  }
  throw RunError(fmt::format("exec: {}: expected a '{}' frame, got '{}' — protocol out of step", who_,
                             wire::name(want), wire::name(f.type)));
}

wire::Header decode_handshake_header(const uint8_t* bytes) {
  wire::Header h;
  try {
    h = wire::decode_header(bytes);
  } catch (const wire::FrameError& e) {
    throw Refused(fmt::format("malformed frame: {}", e.what()));
  }
  if (h.version != wire::kVersion)
    throw Refused(fmt::format("protocol version {} refused: this worker speaks version {} — run the same clustertwin "
                              "build on every node",
                              h.version, wire::kVersion));
  if (h.length > wire::kMaxHandshakePayload)
    throw Refused(fmt::format("'{}' frame of {} bytes refused: a handshake frame holds at most {} bytes", wire::name(h.type),
                              h.length, wire::kMaxHandshakePayload));
  return h;
}

bool FrameReader::read_some(int fd, const std::string& who) {
  for (;;) {
    if (!have_head_) {
      size_t n = recv_some(fd, head_ + head_got_, sizeof head_ - head_got_, who);
      if (n == 0) return false;
      head_got_ += n;
      if (head_got_ < sizeof head_) continue;
      wire::Header h = decode_handshake_header(head_);
      if (h.length > max_)
        throw Refused(fmt::format("'{}' frame of {} bytes exceeds the {} byte limit", wire::name(h.type), h.length, max_));
      frame_ = Frame{h.type, std::string(h.length, '\0')};
      got_ = 0;
      have_head_ = true;
    }
    if (got_ < frame_.payload.size()) {
      size_t n = recv_some(fd, frame_.payload.data() + got_, frame_.payload.size() - got_, who);
      if (n == 0) return false;
      got_ += n;
      if (got_ < frame_.payload.size()) continue;
    }
    return true;
  }
}

Frame FrameReader::take() {
  have_head_ = false;
  head_got_ = 0;
  got_ = 0;
  return std::move(frame_);
}

void refuse(Channel& c, const std::string& why, Clock::time_point deadline) {
  try {
    c.send(wire::FrameType::Error, nlohmann::json{{"message", why}, {"kind", "refused"}}, deadline);
  } catch (const RunError&) {
    // The peer is gone already; the refusal is logged by the caller either way.
  }
}

namespace {
// The server's reason when a client answers the challenge with an Error frame instead of auth.
std::string client_refusal(const Frame& f) {
  auto j = nlohmann::json::parse(f.payload, nullptr, false);
  std::string msg = j.is_object() ? j.value("message", f.payload) : f.payload;
  return "the client gave up the handshake: " + msg;
}

[[noreturn]] void server_refused(const Channel& c, const Frame& f) {
  auto j = nlohmann::json::parse(f.payload, nullptr, false);
  std::string msg = j.is_object() ? j.value("message", std::string("?")) : f.payload;
  throw RunError(fmt::format("exec: {}: refused the connection: {}", c.who(), msg));
}
}  // namespace

void say_hello(Channel& c, const Hello& h, Clock::time_point deadline) {
  ClientHandshake hs(h.role, h.rank, h.token, c.who());
  c.send(wire::FrameType::Hello, std::string_view(hs.hello()), deadline);
  Frame f = c.recv(deadline, wire::kMaxHandshakePayload);
  if (f.type == wire::FrameType::Error) server_refused(c, f);
  c.expect(f, wire::FrameType::Challenge);
  std::string auth;
  try {
    auth = hs.on_challenge(f.payload);
  } catch (const RunError& e) {
    refuse(c, e.what(), deadline);
    throw;
  }
  c.send(wire::FrameType::Auth, std::string_view(auth), deadline);
  f = c.recv(deadline, wire::kMaxHandshakePayload);
  if (f.type == wire::FrameType::Error) server_refused(c, f);
  c.expect(f, wire::FrameType::HelloOk);
  hs.on_ok(f.payload);
}

std::optional<Hello> accept_hello(Channel& c, std::string_view role, const std::string& token,
                                  Clock::time_point deadline, std::string& why) {
  ServerHandshake hs{std::string(role), token};
  FrameReader reader;
  auto next = [&](wire::FrameType want) {
    for (;;) {
      if (reader.read_some(c.fd(), c.who())) break;
      if (!wait_fd(c.fd(), POLLIN, deadline))
        throw Timeout(fmt::format("no '{}' frame within the handshake's time", wire::name(want)));
    }
    Frame f = reader.take();
    if (f.type == wire::FrameType::Error && want == wire::FrameType::Auth) throw PeerLost(client_refusal(f));
    if (f.type != want)
      throw Refused(fmt::format("expected a '{}' frame, got '{}'", wire::name(want), wire::name(f.type)));
    return f;
  };
  try {
    Frame hello = next(wire::FrameType::Hello);
    c.send(wire::FrameType::Challenge, std::string_view(hs.on_hello(hello.payload)), deadline);
    Frame auth = next(wire::FrameType::Auth);
    c.send(wire::FrameType::HelloOk, std::string_view(hs.on_auth(auth.payload)), deadline);
  } catch (const Refused& e) {
    why = e.what();
    refuse(c, why, deadline);
    return std::nullopt;
  } catch (const RunError& e) {
    why = e.what();  // the client went away, timed out or gave up: nobody to answer
    return std::nullopt;
  }
  return Hello{std::string(role), "", hs.rank()};
}

}  // namespace clustertwin::exec
