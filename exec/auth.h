// The cryptography of the connection handshake (PROTOCOL.md, "Handshake"): HMAC-SHA-256 proofs
// keyed by the run token over both sides' nonces, from OpenSSL's libcrypto. Only this file and
// auth.cc know which library computes them, so CommonCrypto on macOS could replace it here.
#pragma once

#include <string>
#include <string_view>

namespace clustertwin::exec::auth {

inline constexpr size_t kNonceBytes = 16;

// HMAC-SHA-256 of `message` keyed by `key`, as 64 lower-case hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
// kNonceBytes from the operating system's random source, as hex. Throws RunError when it fails.
std::string random_hex(size_t bytes = kNonceBytes);
// True when `text` is exactly `bytes` bytes written as lower-case hex.
bool is_hex(std::string_view text, size_t bytes);
// Equal contents, in time that depends only on the sizes.
bool same(std::string_view a, std::string_view b);

// The proof one side of a connection gives: HMAC(token, label | role | rank | client nonce |
// server nonce), with label "clustertwin-2 client" or "clustertwin-2 server" so neither side's
// proof can be replayed as the other's.
enum class Side { Client, Server };
std::string proof(std::string_view token, Side side, std::string_view role, int rank, std::string_view client_nonce,
                  std::string_view server_nonce);

}  // namespace clustertwin::exec::auth
