// The opening of every connection (PROTOCOL.md, "Handshake"): a challenge-response in which both
// sides prove they hold the run token without sending it. Message logic only, no I/O: the
// coordinator and the worker's control port drive it with blocking reads (channel.cc), the data
// plane from its poll() loop over many connections at once (data_plane.cc).
//
//   client                                   server
//   hello {role, rank, nonce_c, version}  ->
//                                         <-  challenge {nonce_s, version}
//   auth {proof_c}                        ->      checks proof_c (wrong token: error, close)
//                                         <-  hello-ok {proof_s}
//   checks proof_s
#pragma once

#include <string>
#include <string_view>

#include "exec/executor.h"

namespace clustertwin::exec {

// The clustertwin version both sides report, and compare, in the handshake.
std::string_view software_version();

// The server refuses the connection: what() is the reason it sends back and logs.
class Refused : public RunError {
 public:
  using RunError::RunError;
};

class ClientHandshake {
 public:
  // `rank` is the connecting rank on data connections, -1 for the coordinator. `who` names the
  // server in errors ("rank 2 (10.0.0.3:7000)").
  ClientHandshake(std::string role, int rank, std::string token, std::string who);
  std::string hello() const;  // payload of the Hello frame
  // The Auth payload answering a Challenge. Throws RunError for a malformed challenge or a server
  // of another clustertwin version.
  std::string on_challenge(std::string_view payload);
  // Checks the server's proof in HelloOk. Throws RunError when it does not hold the token.
  void on_ok(std::string_view payload) const;

 private:
  std::string role_, token_, who_, nonce_, server_nonce_;
  int rank_;
};

class ServerHandshake {
 public:
  ServerHandshake(std::string role, std::string token);
  // The Challenge payload. Throws Refused: malformed hello, other version, other role.
  std::string on_hello(std::string_view payload);
  // The HelloOk payload. Throws Refused: malformed auth, wrong token.
  std::string on_auth(std::string_view payload) const;
  int rank() const { return rank_; }  // the client's claimed rank, after on_hello

 private:
  std::string role_, token_, client_nonce_, nonce_;
  int rank_ = -1;
};

}  // namespace clustertwin::exec
