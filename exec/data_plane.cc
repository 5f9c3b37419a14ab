#include "exec/data_plane.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <set>

#include <fmt/format.h>

#include "core/format.h"
#include "exec/acceptor.h"
#include "exec/channel.h"
#include "exec/errors.h"
#include "exec/handshake.h"
#include "exec/wire.h"

namespace clustertwin::exec {

namespace {
constexpr size_t kFrameHead = wire::kHeaderSize + wire::kDataHeaderSize;
constexpr uint64_t kMaxPiece = wire::kMaxPayload - wire::kDataHeaderSize;

// Message payloads are zeros: the bytes matter for timing, not for content.
const std::vector<uint8_t>& zeros() {
  static const std::vector<uint8_t> z(1 << 20, 0);
  return z;
}

// "exec: rank 1 (..): closed ..." -> "rank 1 (..): closed ..." so a caller can prefix its context.
std::string strip_prefix(const char* what) {
  std::string s = what;
  return s.rfind("exec: ", 0) == 0 ? s.substr(6) : s;
}
}  // namespace

struct DataPlane::Link {
  int peer = -1;
  Fd fd;
  std::string who;

  // Writer: one message or chunk at a time, cut into frames of at most kMaxPiece payload bytes;
  // further chunks for the same peer (lanes of one round, data_plane.h) wait in `queued`.
  struct Out {
    bool active = false;
    wire::FrameType type = wire::FrameType::Message;
    int32_t tag = 0;
    uint32_t step = 0;
    const uint8_t* data = nullptr;  // null: zeros
    uint64_t total = 0, done = 0;   // payload bytes of the whole transfer / of finished frames
    std::array<uint8_t, kFrameHead> head{};
    size_t head_sent = 0;
    uint64_t piece = 0, piece_sent = 0;
  } out;
  std::deque<ChunkOut> queued;

  // Reader: frame header and data sub-header (one recv: every frame here is a data frame, at least
  // kFrameHead bytes long), then payload into a posted chunk or the discard buffer.
  enum class In { Head, Payload, Parked } in = In::Head;
  std::array<uint8_t, kFrameHead> ihead{};
  size_t ihead_got = 0;
  wire::Header hdr;
  wire::DataHeader dh;
  uint64_t left = 0;  // payload bytes of the current frame still to read
  bool msg_open = false;
  int32_t msg_tag = 0;
  uint64_t msg_total = 0, msg_got = 0;
  std::map<int32_t, std::deque<uint64_t>> mailbox;  // complete messages by tag: their sizes
  // Posted receives (several when lanes of one round come from this peer), the one the current
  // frame fills (-1: none), and bytes received per posted chunk.
  struct Posted {
    const ChunkIn* in;
    uint64_t got;
  };
  std::vector<Posted> posted;
  int current = -1;

  // Read-ahead: a recv in the Head state takes up to 4 KiB, so a small frame's headers and payload
  // (and any frames behind it) arrive with one system call; bigger payloads then go straight from
  // the socket to their destination once this is drained.
  std::array<uint8_t, 4096> ahead{};
  size_t ahead_at = 0, ahead_end = 0;
  bool buffered() const { return ahead_at < ahead_end; }
  size_t take(uint8_t* dst, size_t n) {
    size_t k = std::min(n, ahead_end - ahead_at);
    std::memcpy(dst, ahead.data() + ahead_at, k);
    ahead_at += k;
    return k;
  }

  bool eof = false;  // the peer closed at a frame boundary: an error only for whoever still waits on it
  std::string broken;  // the peer went away mid-frame while this link was only drained: the error to report

  bool reading() const { return in != In::Parked && !eof; }
  bool chunk_open() const {
    return std::any_of(posted.begin(), posted.end(), [](const Posted& p) { return p.got < p.in->bytes; });
  }

  void send_chunk(const ChunkOut& c) {
    if (out.active) return queued.push_back(c);
    start_send(wire::FrameType::Chunk, c.tag, c.step, c.data, c.bytes);
  }
  bool sending() const { return out.active || !queued.empty(); }

  void start_send(wire::FrameType type, int32_t tag, uint32_t step, const uint8_t* data, uint64_t total) {
    out = Out{};
    out.active = true;
    out.type = type;
    out.tag = tag;
    out.step = step;
    out.data = data;
    out.total = total;
    begin_frame();
  }

  void begin_frame() {
    out.piece = std::min(out.total - out.done, kMaxPiece);
    auto h = wire::encode_header(out.type, static_cast<uint32_t>(out.piece + wire::kDataHeaderSize));
    auto d = wire::encode_data_header({out.tag, out.step, out.done, out.total});
    std::copy(h.begin(), h.end(), out.head.begin());
    std::copy(d.begin(), d.end(), out.head.begin() + wire::kHeaderSize);
    out.head_sent = 0;
    out.piece_sent = 0;
  }

  // Writes what the socket takes now; true when bytes moved.
  bool write_some() {
    bool moved = false;
    while (out.active) {
      const void* parts[2];
      size_t sizes[2];
      int n = 0;
      if (out.head_sent < kFrameHead) {
        parts[n] = out.head.data() + out.head_sent;
        sizes[n++] = kFrameHead - out.head_sent;
      }
      uint64_t rest = out.piece - out.piece_sent;
      if (rest > 0) {
        parts[n] = out.data ? out.data + out.done + out.piece_sent : zeros().data();
        sizes[n++] = out.data ? rest : std::min<uint64_t>(rest, zeros().size());
      }
      size_t sent = send_some(fd.get(), parts, sizes, n, who);
      if (sent == 0) return moved;
      moved = true;
      size_t h = std::min(sent, kFrameHead - out.head_sent);
      out.head_sent += h;
      out.piece_sent += sent - h;
      if (out.head_sent == kFrameHead && out.piece_sent == out.piece) {
        out.done += out.piece;
        if (out.done < out.total) {
          begin_frame();
        } else if (queued.empty()) {
          out.active = false;
        } else {
          ChunkOut next = queued.front();
          queued.pop_front();
          start_send(wire::FrameType::Chunk, next.tag, next.step, next.data, next.bytes);
        }
      }
    }
    return moved;
  }

  void post_chunk(const ChunkIn* c) {
    posted.push_back({c, 0});
    if (in == In::Parked) on_chunk_head();
  }
  void unpost() {
    posted.clear();
    current = -1;
  }

  // Reads what is available; true when bytes moved. Bounded so one busy link cannot starve others.
  // Returns as soon as the posted chunks are complete: the op is done, and a recv that would only
  // find the socket empty is a system call saved per step (what small collectives cost).
  bool read_some(std::vector<uint8_t>& discard) {
    bool moved = false;
    for (int round = 0; round < 64 && reading(); ++round) {
      size_t got = 0;
      if (in == In::Head) {
        if (!buffered()) {
          try {
            ahead_at = 0;
            ahead_end = recv_some(fd.get(), ahead.data(), ahead.size(), who);
          } catch (const PeerLost&) {
            if (ihead_got == 0) {
              eof = true;  // a peer that finished its ops closes after its last frame
              return moved;
            }
            // A frame shorter than a data frame's two headers, then EOF: say what it was.
            if (ihead_got >= wire::kHeaderSize) check_frame_header();
            throw;
          }
        }
        got = take(ihead.data() + ihead_got, kFrameHead - ihead_got);
        ihead_got += got;
        if (got > 0 && ihead_got == kFrameHead) on_head();
      } else {
        bool to_chunk = hdr.type == wire::FrameType::Chunk;
        Posted* pc = to_chunk ? &posted[current] : nullptr;
        uint8_t* dst = pc ? pc->in->data + pc->got : discard.data();
        size_t want = pc ? left : std::min<uint64_t>(left, discard.size());
        got = buffered() ? take(dst, want) : recv_some(fd.get(), dst, want, who);
        left -= got;
        if (pc) {
          pc->got += got;
          if (got > 0 && pc->in->on_data) pc->in->on_data(pc->got);
        } else {
          msg_got += got;
        }
        if (left == 0) end_frame();
      }
      if (got == 0) return moved;
      moved = true;
      if (!posted.empty() && !chunk_open() && in == In::Head) return moved;
    }
    return moved;
  }

  [[noreturn]] void refuse(const std::string& why) const {
    throw RunError(fmt::format("exec: {}: refused a data frame: {}", who, why));
  }

  // The frame header's own checks: magic, length bound, version, a data frame type.
  void check_frame_header() {
    try {
      hdr = wire::decode_header(ihead.data());
    } catch (const wire::FrameError& e) {
      refuse(e.what());
    }
    if (hdr.version != wire::kVersion) refuse(fmt::format("protocol version {} (this build speaks {})", hdr.version, wire::kVersion));
    if (!wire::is_data(hdr.type)) refuse(fmt::format("a '{}' frame does not belong on a data connection", wire::name(hdr.type)));
  }

  void on_head() {
    check_frame_header();
    dh = wire::decode_data_header(ihead.data() + wire::kHeaderSize);
    left = hdr.length - wire::kDataHeaderSize;
    if (hdr.type == wire::FrameType::Message) return accept_message_frame();
    on_chunk_head();
  }

  // A chunk frame's header is in: it feeds the posted chunk of its (tag, step). A chunk for a ring
  // step this rank has not reached yet waits in the socket.
  void on_chunk_head() {
    if (!chunk_open()) {
      in = In::Parked;
      return;
    }
    current = -1;
    for (size_t k = 0; k < posted.size(); ++k)
      if (posted[k].in->tag == dh.tag && posted[k].in->step == dh.step && posted[k].got < posted[k].in->bytes)
        current = static_cast<int>(k);
    if (current < 0)  // report against the first open one
      for (size_t k = 0; k < posted.size() && current < 0; ++k)
        if (posted[k].got < posted[k].in->bytes) current = static_cast<int>(k);
    accept_chunk_frame();
  }

  void accept_message_frame() {
    if (!msg_open) {
      if (dh.offset != 0) refuse(fmt::format("message tag {} starts at offset {}", dh.tag, dh.offset));
      msg_open = true;
      msg_tag = dh.tag;
      msg_total = dh.total;
      msg_got = 0;
    } else if (dh.tag != msg_tag || dh.offset != msg_got || dh.total != msg_total) {
      refuse(fmt::format("message tag {} offset {} does not continue message tag {} at offset {}", dh.tag, dh.offset,
                         msg_tag, msg_got));
    }
    if (left > msg_total - msg_got) refuse(fmt::format("message tag {} overruns its {} bytes", dh.tag, msg_total));
    in = In::Payload;
    if (left == 0) end_frame();
  }

  void accept_chunk_frame() {
    const ChunkIn* chunk = posted[current].in;
    const uint64_t chunk_got = posted[current].got;
    if (dh.tag != chunk->tag || dh.step != chunk->step || dh.total != chunk->bytes || dh.offset != chunk_got ||
        left > chunk->bytes - chunk_got)
      throw RunError(fmt::format(
          "exec: {}: sent {} of collective tag {} ring step {} at offset {}, but this rank expects {} of tag {} ring "
          "step {} at offset {} — the ranks run different programs or different builds",
          who, core::format_bytes(dh.total), dh.tag, dh.step, dh.offset, core::format_bytes(chunk->bytes), chunk->tag,
          chunk->step,
          chunk_got));
    in = In::Payload;
    if (left == 0) end_frame();
  }

  void end_frame() {
    if (hdr.type == wire::FrameType::Message && msg_got == msg_total) {
      mailbox[msg_tag].push_back(msg_total);
      msg_open = false;
    }
    in = In::Head;
    ihead_got = 0;
  }

  std::string state() const {
    std::string s;
    if (out.active)
      s += fmt::format("sending {} to {}: {} sent", core::format_bytes(out.total), who,
                       core::format_bytes(out.done + out.piece_sent));
    for (const Posted& p : posted)
      if (p.got < p.in->bytes)
        s += fmt::format("{}receiving {} from {}: {} received", s.empty() ? "" : "; ", core::format_bytes(p.in->bytes),
                         who, core::format_bytes(p.got));
    return s;
  }
};

DataPlane::DataPlane(DataPlaneConfig config, const std::vector<int>& peers, int listen_fd, Cancel* cancel)
    : config_(std::move(config)), cancel_(cancel), discard_(1 << 20) {
  connect_all(peers, listen_fd);
}

DataPlane::~DataPlane() = default;

std::string DataPlane::who(int rank) const {
  if (rank < 0 || rank >= static_cast<int>(config_.addresses.size())) return fmt::format("rank {}", rank);
  return fmt::format("rank {} ({})", rank, config_.addresses[rank].str());
}

// One outgoing data connection while its handshake runs: this rank is the client on connections to
// higher ranks; connections from lower ones are the acceptor's (acceptor.h).
struct DataPlane::Opening {
  Fd fd;
  std::string who;
  FrameReader reader;
  std::unique_ptr<ClientHandshake> client;
  int peer = -1;
  bool past_first = false;  // challenge answered
  bool done = false;
};

void DataPlane::connect_all(const std::vector<int>& peers, int listen_fd) {
  const int me = config_.rank;
  const auto deadline = deadline_after(config_.settings.connect_timeout_s);
  // Every handshake advances from one poll() loop, so no rank waits on one peer while another
  // waits on it: connect to the higher ranks and send their hellos, then serve whatever arrives.
  std::vector<std::unique_ptr<Opening>> open;
  std::set<int> waiting;  // lower ranks not yet authenticated
  for (int p : peers) {
    if (p < me) {
      waiting.insert(p);
      continue;
    }
    auto o = std::make_unique<Opening>();
    o->peer = p;
    o->who = who(p);
    o->fd = connect_until(config_.addresses.at(p), deadline, o->who);
    tune_data_socket(o->fd.get());
    o->client = std::make_unique<ClientHandshake>("data", me, config_.token, o->who);
    write_frame(o->fd.get(), wire::FrameType::Hello, o->client->hello(), deadline, o->who);
    open.push_back(std::move(o));
  }
  Acceptor::Options ao{"data", config_.token, {}, fmt::format("clustertwin-worker: rank {}", me)};
  // Every lower rank may be mid-handshake at once: the cap only ever drops strangers.
  ao.limits.max_pending = std::max(ao.limits.max_pending, 2 * waiting.size());
  ao.claim = [&](int rank) {
    return waiting.count(rank) ? std::string() : fmt::format("rank {} is not a peer this rank is waiting for", rank);
  };
  Acceptor acceptor(listen_fd, std::move(ao));
  auto outgoing_left = [&] { return std::any_of(open.begin(), open.end(), [](const auto& o) { return !o->done; }); };
  while (!waiting.empty() || outgoing_left()) {
    std::vector<pollfd> fds;
    for (const auto& o : open) fds.push_back({o->done ? -1 : o->fd.get(), POLLIN, 0});
    const size_t first = fds.size();
    if (!waiting.empty()) acceptor.add_polls(fds);
    int rc = ::poll(fds.data(), fds.size(), poll_timeout_ms(std::min(deadline, acceptor.next_deadline())));
    if (rc < 0 && errno != EINTR) throw RunError(fmt::format("exec: rank {}: poll failed: {}", me, std::strerror(errno)));
    if (rc <= 0 && Clock::now() >= deadline) throw Timeout(missing_peers(waiting, open));
    if (rc < 0) continue;
    for (size_t i = 0; i < first; ++i)
      if (fds[i].revents) advance(*open[i], deadline);
    if (fds.size() > first)
      for (Accepted& in : acceptor.serve(fds.data() + first)) {
        if (!waiting.erase(in.rank)) continue;  // a second connection for one rank in the same round: dropped
        tune_data_socket(in.fd.get());
        add_link(in.rank, std::move(in.fd));
      }
    for (auto& o : open)
      if (o->done && o->fd.valid()) add_link(o->peer, std::move(o->fd));
  }
}

void DataPlane::add_link(int peer, Fd fd) {
  auto l = std::make_unique<Link>();
  l->peer = peer;
  l->who = who(peer);
  l->fd = std::move(fd);
  links_[peer] = std::move(l);
}

void DataPlane::write_frame(int fd, wire::FrameType type, const std::string& payload, Clock::time_point deadline,
                            const std::string& who) {
  std::string bytes = wire::encode_frame(type, payload);
  write_all(fd, bytes.data(), bytes.size(), deadline, who);
}

// This rank's own connection failing is fatal: a refused token will not get better by retrying.
void DataPlane::advance(Opening& o, Clock::time_point deadline) {
  const int me = config_.rank;
  Frame f;
  try {
    if (!o.reader.read_some(o.fd.get(), o.who)) return;
    f = o.reader.take();
  } catch (const RunError& e) {
    throw RunError(fmt::format("exec: rank {}: {} broke off the data connection's handshake: {}", me, o.who,
                               strip_prefix(e.what())));
  }
  if (f.type == wire::FrameType::Error)
    throw RunError(fmt::format("exec: rank {}: {} refused the data connection: {}", me, o.who,
                               f.json().value("message", std::string("?"))));
  if (!o.past_first) {
    if (f.type != wire::FrameType::Challenge)
      throw RunError(fmt::format("exec: rank {}: {}: expected a 'challenge' frame, got '{}'", me, o.who, wire::name(f.type)));
    std::string auth = o.client->on_challenge(f.payload);
    write_frame(o.fd.get(), wire::FrameType::Auth, auth, deadline, o.who);
    o.past_first = true;
    return;
  }
  if (f.type != wire::FrameType::HelloOk)
    throw RunError(fmt::format("exec: rank {}: {}: expected a 'hello-ok' frame, got '{}'", me, o.who, wire::name(f.type)));
  o.client->on_ok(f.payload);
  o.done = true;
}

std::string DataPlane::missing_peers(const std::set<int>& waiting,
                                     const std::vector<std::unique_ptr<Opening>>& open) const {
  const int me = config_.rank;
  std::string msg;
  if (!waiting.empty()) {
    std::string names;
    for (int p : waiting) names += (names.empty() ? "" : ", ") + who(p);
    msg = fmt::format("exec: rank {}: {} did not open its data connection within {:.1f} s — its worker failed during "
                      "setup, or a firewall blocks port {} on this host",
                      me, names, config_.settings.connect_timeout_s, config_.addresses.at(me).port);
  }
  for (const auto& o : open)
    if (!o->done)
      msg += fmt::format("{}{} did not finish the data connection's handshake within {:.1f} s — its worker is hung or "
                         "busy with another connection",
                         msg.empty() ? fmt::format("exec: rank {}: ", me) : "; ", o->who, config_.settings.connect_timeout_s);
  return msg;
}

DataPlane::Link& DataPlane::link(int peer, const std::string& what) {
  auto it = links_.find(peer);
  if (it == links_.end())
    throw RunError(fmt::format("exec: rank {} in {}: no data connection to {} (the peers derived from the program "
                               "missed it: a bug in exec/)",
                               config_.rank, what, who(peer)));
  return *it->second;
}

void DataPlane::pump(const std::vector<Link*>& readers, const std::vector<Link*>& writers,
                     const std::function<bool()>& done, const std::string& what) {
  auto deadline = deadline_after(config_.settings.op_timeout_s);
  // The op's own links first (readers, then writers), then every other link: this rank drains all
  // its sockets while it waits (PROTOCOL.md, "Data plane"), so a ring of ranks that each send
  // before they receive cannot fill each other's buffers and stall. Other links only read:
  // messages land in their mailboxes, a chunk waits parked for its collective. A read error on a
  // reader fails the op; on any other link (a writer's peer may have finished and closed) it is
  // kept for whoever waits on that link later.
  std::vector<Link*> links;
  auto add = [&](Link* l) {
    if (l && std::find(links.begin(), links.end(), l) == links.end()) links.push_back(l);
  };
  for (Link* l : readers) add(l);
  const size_t nreaders = links.size();
  for (Link* l : writers) add(l);
  for (auto& [peer, l] : links_) add(l.get());
  std::vector<pollfd> fds(links.size() + 1);
  try {
    // The sends first, without a poll: a fresh send usually fits the socket buffer at once.
    for (Link* l : links)
      if (l->out.active) l->write_some();
    while (!done()) {
      fds[0] = {cancel_ ? cancel_->wake_fd() : -1, POLLIN, 0};
      bool any = false;  // the op itself can still move
      for (size_t i = 0; i < links.size(); ++i) {
        Link* l = links[i];
        short ev = static_cast<short>((l->reading() ? POLLIN : 0) | (l->out.active ? POLLOUT : 0));
        fds[i + 1] = {ev ? l->fd.get() : -1, ev, 0};
        if (i < nreaders) any = any || (ev & POLLIN);
        any = any || (ev & POLLOUT);
      }
      if (!any) {
        Link* reader = nreaders > 0 ? links[0] : nullptr;
        for (size_t i = 0; i < nreaders; ++i)
          if (links[i]->eof) reader = links[i];
        if (reader && reader->eof)
          throw PeerLost(reader->broken.empty()
                             ? fmt::format("exec: {}: closed the connection — its worker failed or exited (see its own "
                                           "error)",
                                           reader->who)
                             : reader->broken);
        throw RunError(fmt::format("exec: rank {} in {}: {} sent a collective chunk (tag {}, ring step {}) where this "
                                   "rank expects a message — the ranks run their communication ops in different orders",
                                   config_.rank, what, reader ? reader->who : "a peer", reader ? reader->dh.tag : 0,
                                   reader ? reader->dh.step : 0));
      }
      // Bytes already read ahead are ready now: look at the sockets without waiting.
      bool ahead = std::any_of(links.begin(), links.end(), [](Link* l) { return l->reading() && l->buffered(); });
      int rc = ::poll(fds.data(), fds.size(), ahead ? 0 : poll_timeout_ms(deadline));
      if (rc < 0 && errno != EINTR)
        throw RunError(fmt::format("exec: rank {}: poll failed: {}", config_.rank, std::strerror(errno)));
      if (cancel_ && cancel_->cancelled()) throw Cancelled(cancel_->reason());
      bool moved = false;
      for (size_t i = 0; i < links.size(); ++i) {
        short re = fds[i + 1].revents;
        Link* l = links[i];
        if (!re && !l->buffered()) continue;
        if ((re & (POLLOUT | POLLERR | POLLHUP)) && l->out.active) moved |= l->write_some();
        if (!((re & (POLLIN | POLLERR | POLLHUP)) || l->buffered()) || !l->reading()) continue;
        if (i < nreaders) {
          moved |= l->read_some(discard_);
          continue;
        }
        try {
          moved |= l->read_some(discard_);
        } catch (const PeerLost& e) {
          // Not this op's peer: an error only for whoever waits on it later.
          l->eof = true;
          l->broken = e.what();
        }
      }
      if (moved) {
        deadline = deadline_after(config_.settings.op_timeout_s);
      } else if (Clock::now() >= deadline) {
        std::string st;
        for (size_t i = 0; i < links.size(); ++i) {
          if (i >= nreaders && !links[i]->out.active) continue;
          std::string s = links[i]->state();
          if (!s.empty()) st += (st.empty() ? "" : "; ") + s;
        }
        throw Timeout(fmt::format("exec: rank {} in {}: no progress for {:.1f} s ({}) — the peer is hung or dead, or "
                                  "the network drops packets",
                                  config_.rank, what, config_.settings.op_timeout_s, st.empty() ? "waiting" : st));
      }
    }
  } catch (const PeerLost& e) {
    throw PeerLost(fmt::format("exec: rank {} in {}: {}", config_.rank, what, strip_prefix(e.what())));
  } catch (const Timeout&) {
    throw;
  } catch (const Cancelled&) {
    throw;
  } catch (const RunError& e) {
    if (std::string_view(e.what()).rfind(fmt::format("exec: rank {} in", config_.rank), 0) == 0) throw;
    throw RunError(fmt::format("exec: rank {} in {}: {}", config_.rank, what, strip_prefix(e.what())));
  }
}

void DataPlane::exchange(const ChunkOut& out, const ChunkIn& in, const std::string& what) {
  exchange(std::vector<ChunkOut>{out}, std::vector<ChunkIn>{in}, what);
}

void DataPlane::exchange(const std::vector<ChunkOut>& outs, const std::vector<ChunkIn>& ins, const std::string& what) {
  std::vector<Link*> writers, readers;
  for (const ChunkOut& o : outs)
    if (o.bytes) writers.push_back(&link(o.peer, what));
  for (const ChunkIn& i : ins)
    if (i.bytes) readers.push_back(&link(i.peer, what));
  if (writers.empty() && readers.empty()) return;
  size_t w = 0;
  for (const ChunkOut& o : outs)
    if (o.bytes) writers[w++]->send_chunk(o);
  struct Unpost {
    std::vector<Link*>& ls;
    ~Unpost() {
      for (Link* l : ls) l->unpost();
    }
  } unpost{readers};
  size_t r = 0;
  for (const ChunkIn& i : ins)
    if (i.bytes) readers[r++]->post_chunk(&i);
  auto done = [&] {
    return std::none_of(writers.begin(), writers.end(), [](Link* l) { return l->sending(); }) &&
           std::none_of(readers.begin(), readers.end(), [](Link* l) { return l->chunk_open(); });
  };
  // The send links are only drained: their peers may have finished the run and closed already.
  pump(readers, writers, done, what);
}

void DataPlane::send_message(int peer, int32_t tag, uint64_t bytes, const std::string& what) {
  Link& l = link(peer, what);
  l.start_send(wire::FrameType::Message, tag, 0, nullptr, bytes);
  // Reading while sending drains the peer's messages to us, so two ranks sending to each other
  // both finish (their messages are counted in the mailbox for the matching recv).
  pump({&l}, {}, [&] { return !l.out.active; }, what);
}

void DataPlane::recv_message(int peer, int32_t tag, uint64_t bytes, const std::string& what) {
  Link& l = link(peer, what);
  auto ready = [&] {
    auto it = l.mailbox.find(tag);
    return it != l.mailbox.end() && !it->second.empty();
  };
  pump({&l}, {}, ready, what);
  uint64_t got = l.mailbox[tag].front();
  l.mailbox[tag].pop_front();
  if (got != bytes)
    throw RunError(fmt::format("exec: rank {} in {}: message tag {} from {} has {}, the program says {} — the ranks "
                               "run different programs",
                               config_.rank, what, tag, l.who, core::format_bytes(got), core::format_bytes(bytes)));
}

}  // namespace clustertwin::exec
