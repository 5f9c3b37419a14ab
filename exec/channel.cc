#include "exec/channel.h"

#include <fmt/format.h>

#include "exec/errors.h"

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

Frame Channel::recv(Clock::time_point deadline) {
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

void say_hello(Channel& c, const Hello& h, Clock::time_point deadline) {
  c.send(wire::FrameType::Hello, nlohmann::json{{"role", h.role}, {"token", h.token}, {"rank", h.rank}}, deadline);
  Frame f = c.recv(deadline);
  if (f.type == wire::FrameType::Error) {
    auto j = f.json();
    throw RunError(fmt::format("exec: {}: refused the connection: {}", c.who(), j.value("message", std::string("?"))));
  }
  c.expect(f, wire::FrameType::HelloOk);
}

namespace {
// Compares without an early exit, so timing does not reveal how much of a guess was right.
bool same_token(const std::string& a, const std::string& b) {
  unsigned diff = a.size() != b.size();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void refuse(Channel& c, const std::string& why, Clock::time_point deadline) {
  try {
    c.send(wire::FrameType::Error, nlohmann::json{{"message", why}, {"kind", "refused"}}, deadline);
  } catch (const RunError&) {
    // The peer is gone already; the refusal is logged by the caller either way.
  }
}
}  // namespace

std::optional<Hello> accept_hello(Channel& c, std::string_view role, const std::string& token,
                                  Clock::time_point deadline, std::string& why) {
  uint8_t head[wire::kHeaderSize];
  wire::Header h;
  try {
    read_all(c.fd(), head, sizeof head, deadline, c.who());
    h = wire::decode_header(head);
  } catch (const wire::FrameError& e) {
    why = fmt::format("malformed first frame: {}", e.what());
    refuse(c, why, deadline);
    return std::nullopt;
  } catch (const RunError& e) {
    why = e.what();
    return std::nullopt;
  }
  if (h.version != wire::kVersion) {
    why = fmt::format("protocol version {} refused: this worker speaks version {} — run the same clustertwin build "
                      "on every node",
                      h.version, wire::kVersion);
    refuse(c, why, deadline);
    return std::nullopt;
  }
  if (h.type != wire::FrameType::Hello) {
    why = fmt::format("first frame must be 'hello', got '{}'", wire::name(h.type));
    refuse(c, why, deadline);
    return std::nullopt;
  }
  Hello out;
  try {
    std::string payload(h.length, '\0');
    read_all(c.fd(), payload.data(), payload.size(), deadline, c.who());
    auto j = Frame{h.type, payload}.json();
    out.role = j.at("role").get<std::string>();
    out.token = j.at("token").get<std::string>();
    out.rank = j.value("rank", -1);
  } catch (const std::exception& e) {
    why = fmt::format("malformed hello: {}", e.what());
    refuse(c, why, deadline);
    return std::nullopt;
  }
  if (!same_token(out.token, token)) {
    why = "wrong run token — this worker serves another run (check --token / CLUSTERTWIN_TOKEN)";
    refuse(c, why, deadline);
    return std::nullopt;
  }
  if (out.role != role) {
    why = fmt::format("expected a '{}' connection, got '{}'", role, out.role);
    refuse(c, why, deadline);
    return std::nullopt;
  }
  c.send(wire::FrameType::HelloOk, nlohmann::json::object(), deadline);
  return out;
}

}  // namespace clustertwin::exec
