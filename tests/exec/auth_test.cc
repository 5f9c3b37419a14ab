// The handshake's cryptography: HMAC-SHA-256 against the RFC 4231 vectors, fresh nonces, and
// proofs bound to side, role, rank and both nonces (the message logic: handshake_test.cc).
#include "exec/auth.h"

#include <gtest/gtest.h>


namespace clustertwin::exec {
namespace {

TEST(Auth, HmacSha256MatchesRfc4231) {
  // Test case 2 of RFC 4231.
  EXPECT_EQ(auth::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: key 0x0b x 20, "Hi There".
  EXPECT_EQ(auth::hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Auth, NoncesAreFreshHex) {
  std::string a = auth::random_hex(), b = auth::random_hex();
  EXPECT_TRUE(auth::is_hex(a, auth::kNonceBytes));
  EXPECT_NE(a, b);
  EXPECT_FALSE(auth::is_hex("0123", 16));
  EXPECT_FALSE(auth::is_hex(std::string(32, 'G'), 16));
}

TEST(Auth, ProofsDifferBySideRoleRankAndNonces) {
  auto p = auth::proof("tok", auth::Side::Client, "data", 1, "aa", "bb");
  EXPECT_NE(p, auth::proof("tok", auth::Side::Server, "data", 1, "aa", "bb"));
  EXPECT_NE(p, auth::proof("tok", auth::Side::Client, "control", 1, "aa", "bb"));
  EXPECT_NE(p, auth::proof("tok", auth::Side::Client, "data", 2, "aa", "bb"));
  EXPECT_NE(p, auth::proof("tok", auth::Side::Client, "data", 1, "ab", "bb"));
  EXPECT_NE(p, auth::proof("tox", auth::Side::Client, "data", 1, "aa", "bb"));
  EXPECT_EQ(p, auth::proof("tok", auth::Side::Client, "data", 1, "aa", "bb"));
}

}  // namespace
}  // namespace clustertwin::exec
