#include "exec/wire.h"

#include <fmt/format.h>

namespace clustertwin::exec::wire {

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

std::string_view name(FrameType t) {
  switch (t) {
    case FrameType::Hello: return "hello";
    case FrameType::HelloOk: return "hello-ok";
    case FrameType::Error: return "error";
    case FrameType::Assign: return "assign";
    case FrameType::Ready: return "ready";
    case FrameType::Start: return "start";
    case FrameType::Step: return "step";
    case FrameType::Done: return "done";
    case FrameType::Heartbeat: return "heartbeat";
    case FrameType::Abort: return "abort";
    case FrameType::Challenge: return "challenge";
    case FrameType::Auth: return "auth";
    case FrameType::Ping: return "ping";
    case FrameType::Pong: return "pong";
    case FrameType::Message: return "message";
    case FrameType::Chunk: return "chunk";
  }
  return "unknown";
}

bool is_data(FrameType t) { return t == FrameType::Message || t == FrameType::Chunk; }

namespace {
bool known(uint16_t t) { return (t >= 1 && t <= 14) || t == 16 || t == 17; }
}  // namespace

std::array<uint8_t, kHeaderSize> encode_header(FrameType type, uint32_t length) {
  std::array<uint8_t, kHeaderSize> out{};
  put_u32(out.data(), kMagic);
  put_u16(out.data() + 4, kVersion);
  put_u16(out.data() + 6, static_cast<uint16_t>(type));
  put_u32(out.data() + 8, length);
  return out;
}

Header decode_header(const uint8_t* bytes) {
  uint32_t magic = get_u32(bytes);
  if (magic != kMagic)
    throw FrameError(fmt::format("bad magic 0x{:08x} (expected 0x{:08x} 'CTW1'): the peer is not a clustertwin "
                                 "executor or the stream lost its framing",
                                 magic, kMagic));
  Header h;
  h.version = get_u16(bytes + 4);
  uint16_t type = get_u16(bytes + 6);
  h.length = get_u32(bytes + 8);
  // A peer of another version may use types we do not know; let the caller report the version.
  if (h.version != kVersion) return h;
  if (!known(type)) throw FrameError(fmt::format("unknown frame type {}", type));
  h.type = static_cast<FrameType>(type);
  if (h.length > kMaxPayload)
    throw FrameError(fmt::format("'{}' frame of {} bytes exceeds the {} byte limit", name(h.type), h.length, kMaxPayload));
  if (is_data(h.type) && h.length < kDataHeaderSize)
    throw FrameError(fmt::format("'{}' frame of {} bytes is shorter than its {} byte sub-header", name(h.type), h.length,
                                 kDataHeaderSize));
  return h;
}

std::string encode_frame(FrameType type, std::string_view payload) {
  if (payload.size() > kMaxPayload)
    throw FrameError(fmt::format("'{}' frame of {} bytes exceeds the {} byte limit", name(type), payload.size(), kMaxPayload));
  auto h = encode_header(type, static_cast<uint32_t>(payload.size()));
  std::string out(reinterpret_cast<const char*>(h.data()), h.size());
  out.append(payload);
  return out;
}

std::array<uint8_t, kDataHeaderSize> encode_data_header(const DataHeader& h) {
  std::array<uint8_t, kDataHeaderSize> out{};
  put_u32(out.data(), static_cast<uint32_t>(h.tag));
  put_u32(out.data() + 4, h.step);
  put_u64(out.data() + 8, h.offset);
  put_u64(out.data() + 16, h.total);
  return out;
}

DataHeader decode_data_header(const uint8_t* bytes) {
  DataHeader h;
  h.tag = static_cast<int32_t>(get_u32(bytes));
  h.step = get_u32(bytes + 4);
  h.offset = get_u64(bytes + 8);
  h.total = get_u64(bytes + 16);
  return h;
}

}  // namespace clustertwin::exec::wire
