// Framing of every byte the executor sends: coordinator <-> worker control traffic and worker <->
// worker data. A frame is a fixed 12-byte header then `length` bytes of payload; all integers are
// big-endian (network order). Pure encoding here, no sockets, so it is tested on its own.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace clustertwin::exec::wire {

inline constexpr uint32_t kMagic = 0x43545731;  // "CTW1"
// 2: the hello became a challenge-response (no token on the wire); frames 11 and 12.
inline constexpr uint16_t kVersion = 2;
inline constexpr size_t kHeaderSize = 12;
// Every frame, control or data, carries at most this much payload; bulk transfers are split into
// several frames, so a reader never trusts a length it has not bounded.
inline constexpr uint32_t kMaxPayload = 64u << 20;
// Frames of the handshake come before the peer is authenticated: they are bounded much lower, so
// an unauthenticated client cannot make a worker allocate or wait for 64 MiB.
inline constexpr uint32_t kMaxHandshakePayload = 4096;
// Data frames start their payload with this sub-header (see DataHeader).
inline constexpr size_t kDataHeaderSize = 24;

enum class FrameType : uint16_t {
  Hello = 1,      // client -> server, first frame of every connection: JSON {role, rank, nonce, version}
  HelloOk = 2,    // server -> client, the handshake's last frame: JSON {proof}
  Error = 3,      // JSON {message, kind}; the sender closes the connection after it
  Assign = 4,     // coordinator -> worker: JSON Assignment
  Ready = 5,      // worker -> coordinator: data plane connected, buffers allocated
  Start = 6,      // coordinator -> worker: JSON {origin_ns, clock_offset_ns}
  Step = 7,       // worker -> coordinator: JSON {step, rank, ops: [[op, start, end], ...]}
  Done = 8,       // worker -> coordinator: JSON {ops}
  Heartbeat = 9,  // worker -> coordinator: empty, proves liveness during long steps
  Abort = 10,     // coordinator -> worker: stop now (another rank failed)
  Challenge = 11, // server -> client: JSON {nonce, version}
  Auth = 12,      // client -> server: JSON {proof}
  Ping = 13,      // coordinator -> worker: JSON {seq} (clock alignment)
  Pong = 14,      // worker -> coordinator: JSON {seq, t_ns}: the worker's steady_clock on receipt
  Message = 16,   // worker -> worker: a piece of a send/recv payload
  Chunk = 17,     // worker -> worker: a piece of one ring step of a collective
};

std::string_view name(FrameType t);
bool is_data(FrameType t);

// A frame that cannot be accepted: bad magic, unknown type, oversized. what() says why.
class FrameError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Header {
  uint16_t version = kVersion;
  FrameType type = FrameType::Hello;
  uint32_t length = 0;
};

std::array<uint8_t, kHeaderSize> encode_header(FrameType type, uint32_t length);
// Checks magic, known type and the payload bound; returns the version as found so the caller can
// answer a peer of another version with a readable error instead of garbage.
Header decode_header(const uint8_t* bytes);
// A whole frame (header + payload) as bytes ready to send. Throws FrameError when oversized.
std::string encode_frame(FrameType type, std::string_view payload);

// Sub-header of Message and Chunk frames. A message or chunk of `total` bytes travels as frames
// covering [offset, offset + piece) in order; the receiver checks every field against what it
// expects, so two ranks that disagree on the program fail loudly instead of mixing data.
struct DataHeader {
  int32_t tag = 0;      // Message: the send/recv tag; Chunk: the collective's tag
  uint32_t step = 0;    // Chunk: index of the ring step; Message: 0
  uint64_t offset = 0;  // bytes of this message/chunk before this frame
  uint64_t total = 0;   // bytes of the whole message/chunk
};

std::array<uint8_t, kDataHeaderSize> encode_data_header(const DataHeader& h);
DataHeader decode_data_header(const uint8_t* bytes);

// Big-endian helpers shared with the socket layer.
void put_u16(uint8_t* p, uint16_t v);
void put_u32(uint8_t* p, uint32_t v);
void put_u64(uint8_t* p, uint64_t v);
uint16_t get_u16(const uint8_t* p);
uint32_t get_u32(const uint8_t* p);
uint64_t get_u64(const uint8_t* p);

}  // namespace clustertwin::exec::wire
