// The handshake's message logic, without sockets (over sockets: channel_test.cc): both sides
// proving the token without sending it, and every refusal with its reason.
#include "exec/handshake.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exec/auth.h"

namespace clustertwin::exec {
namespace {

// Runs the four messages between a client and a server; returns the server's refusal or "".
std::string converse(const std::string& client_token, const std::string& server_token, std::string* wire = nullptr) {
  ClientHandshake c("data", 3, client_token, "rank 4");
  ServerHandshake s("data", server_token);
  try {
    std::string hello = c.hello(), challenge = s.on_hello(hello), auth = c.on_challenge(challenge);
    std::string ok = s.on_auth(auth);
    c.on_ok(ok);
    if (wire) *wire = hello + challenge + auth + ok;
    EXPECT_EQ(s.rank(), 3);
    return "";
  } catch (const Refused& e) {
    return e.what();
  }
}

TEST(Handshake, SameTokenSucceedsAndTheTokenNeverTravels) {
  const std::string token = "6f1c0d2e9a7b4c3d8e5f6a7b8c9d0e1f";
  std::string wire;
  EXPECT_EQ(converse(token, token, &wire), "");
  EXPECT_EQ(wire.find(token), std::string::npos) << wire;
  EXPECT_EQ(wire.find("6f1c0d2e"), std::string::npos) << wire;
}

TEST(Handshake, WrongTokenIsRefusedByTheServer) {
  EXPECT_EQ(converse("guess", "secret"),
            "wrong run token — this worker serves another run (check --token / CLUSTERTWIN_TOKEN)");
}

TEST(Handshake, ImpostorServerIsCaughtByTheClient) {
  // Something that answers the challenge without the token cannot produce the server's proof.
  ClientHandshake c("control", -1, "tok", "rank 0 (10.0.0.1:7000)");
  ServerHandshake s("control", "tok");
  c.on_challenge(s.on_hello(c.hello()));
  try {
    c.on_ok(nlohmann::json{{"proof", std::string(64, '0')}}.dump());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 0 (10.0.0.1:7000): the server's proof of the run token is wrong — what "
                                     "answers on this address is not a worker of this run");
  }
}

TEST(Handshake, ReplayedAuthIsRefused) {
  // An auth recorded from one connection is worthless on the next: the server's nonce changed.
  ClientHandshake c("data", 1, "tok", "x");
  ServerHandshake s1("data", "tok");
  std::string hello = c.hello();
  std::string auth = c.on_challenge(s1.on_hello(hello));
  EXPECT_NO_THROW(s1.on_auth(auth));
  ServerHandshake s2("data", "tok");
  s2.on_hello(hello);
  EXPECT_THROW(s2.on_auth(auth), Refused);
}

TEST(Handshake, OtherVersionRoleOrMalformedHelloIsRefused) {
  ServerHandshake s("control", "tok");
  auto hello = nlohmann::json{{"role", "control"}, {"rank", -1}, {"nonce", auth::random_hex()}, {"version", "0.0.1"}};
  try {
    s.on_hello(hello.dump());
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "clustertwin 0.0.1 refused: this worker runs clustertwin " +
                                         std::string(software_version()) + " — install the same build on every node");
  }
  hello["version"] = software_version();
  hello["role"] = "data";
  EXPECT_THROW(s.on_hello(hello.dump()), Refused);
  try {
    s.on_hello(R"({"role":"control","token":"t","rank":0})");  // a version-1 hello
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "malformed hello: no string 'version'");
  }
  hello["role"] = "control";
  hello["nonce"] = "short";
  EXPECT_THROW(s.on_hello(hello.dump()), Refused);
}

TEST(Handshake, ClientRefusesAWorkerOfAnotherVersion) {
  ClientHandshake c("control", -1, "tok", "rank 1 (h:1)");
  auto challenge = nlohmann::json{{"nonce", auth::random_hex()}, {"version", "9.9.9"}};
  try {
    c.on_challenge(challenge.dump());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 1 (h:1): runs clustertwin 9.9.9, this side runs " +
                                         std::string(software_version()) + " — install the same clustertwin build on every node");
  }
}

TEST(Handshake, MalformedAuthAndChallengeAreNamed) {
  ServerHandshake s("data", "tok");
  ClientHandshake c("data", 2, "tok", "rank 2 (h:2)");
  s.on_hello(c.hello());
  try {
    s.on_auth("[1]");
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "malformed auth: the payload is not a JSON object");
  }
  try {
    s.on_auth(R"({"proof":1})");
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "malformed auth: no string 'proof'");
  }
  try {
    c.on_challenge(nlohmann::json{{"nonce", "xyz"}, {"version", software_version()}}.dump());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 2 (h:2): malformed challenge: 'nonce' must be 16 bytes as lower-case hex "
                                     "— is this a clustertwin worker?");
  }
}

TEST(Handshake, AServerForAnotherRoleRefuses) {
  ServerHandshake s("control", "tok");
  ClientHandshake c("data", 1, "tok", "x");
  try {
    s.on_hello(c.hello());
    FAIL();
  } catch (const Refused& e) {
    EXPECT_EQ(std::string(e.what()), "expected a 'control' connection, got 'data'");
  }
}

TEST(Handshake, AReflectedNonceIsRefusedByTheClient) {
  // A "server" that echoes the client's own nonce would make the client's proof double as its own.
  ClientHandshake c("control", -1, "tok", "rank 0 (h:1)");
  auto hello = nlohmann::json::parse(c.hello());
  auto challenge = nlohmann::json{{"nonce", hello["nonce"]}, {"version", software_version()}};
  try {
    c.on_challenge(challenge.dump());
    FAIL();
  } catch (const RunError& e) {
    EXPECT_EQ(std::string(e.what()), "exec: rank 0 (h:1): the challenge repeats this side's nonce");
  }
}

TEST(Handshake, TheServerLearnsTheClaimedRank) {
  ClientHandshake c("data", 7, "tok", "x");
  ServerHandshake s("data", "tok");
  s.on_hello(c.hello());
  EXPECT_EQ(s.rank(), 7);
}

}  // namespace
}  // namespace clustertwin::exec
