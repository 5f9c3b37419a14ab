#include "exec/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fmt/format.h>

#include "exec/executor.h"

namespace clustertwin::exec::auth {

namespace {
std::string hex(const unsigned char* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key is still a key to HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char empty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&empty) : key.data();
  if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
            message.size(), out, &len))
    throw RunError("exec: HMAC-SHA-256 failed in libcrypto");
  return hex(out, len);
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw RunError("exec: the random source failed (OpenSSL RAND_bytes): cannot make a nonce or token");
  return hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

bool is_hex(std::string_view text, size_t bytes) {
  if (text.size() != 2 * bytes) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string proof(std::string_view token, Side side, std::string_view role, int rank, std::string_view client_nonce,
                  std::string_view server_nonce) {
  // Fields joined by NUL, which none of them contains, so no two field lists give one message.
  std::string msg = fmt::format("{}{}{}{}{}{}{}{}{}", side == Side::Client ? "clustertwin-2 client" : "clustertwin-2 server",
                                '\0', role, '\0', rank, '\0', client_nonce, '\0', server_nonce);
  return hmac_sha256_hex(token, msg);
}

}  // namespace clustertwin::exec::auth
