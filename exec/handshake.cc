#include "exec/handshake.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/auth.h"

#ifndef CLUSTERTWIN_VERSION
#define CLUSTERTWIN_VERSION "unknown"
#endif

namespace clustertwin::exec {

std::string_view software_version() { return CLUSTERTWIN_VERSION; }

namespace {
nlohmann::json parse_object(std::string_view payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("the payload is not a JSON object");
  return j;
}

std::string text_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) throw std::invalid_argument(fmt::format("no string '{}'", key));
  return it->get<std::string>();
}

std::string nonce_field(const nlohmann::json& j) {
  std::string n = text_field(j, "nonce");
  if (!auth::is_hex(n, auth::kNonceBytes))
    throw std::invalid_argument(fmt::format("'nonce' must be {} bytes as lower-case hex", auth::kNonceBytes));
  return n;
}

constexpr size_t kProofHex = 64;  // SHA-256
}  // namespace

ClientHandshake::ClientHandshake(std::string role, int rank, std::string token, std::string who)
    : role_(std::move(role)), token_(std::move(token)), who_(std::move(who)), nonce_(auth::random_hex()), rank_(rank) {}

std::string ClientHandshake::hello() const {
  return nlohmann::json{{"role", role_}, {"rank", rank_}, {"nonce", nonce_}, {"version", software_version()}}.dump();
}

std::string ClientHandshake::on_challenge(std::string_view payload) {
  std::string version;
  try {
    auto j = parse_object(payload);
    server_nonce_ = nonce_field(j);
    version = text_field(j, "version");
  } catch (const std::exception& e) {
    throw RunError(fmt::format("exec: {}: malformed challenge: {} — is this a clustertwin worker?", who_, e.what()));
  }
  if (version != software_version())
    throw RunError(fmt::format("exec: {}: runs clustertwin {}, this side runs {} — install the same clustertwin build "
                               "on every node",
                               who_, version, software_version()));
  // A challenge that echoes our own nonce would make the server's proof ours: refuse the reflection.
  if (server_nonce_ == nonce_) throw RunError(fmt::format("exec: {}: the challenge repeats this side's nonce", who_));
  return nlohmann::json{{"proof", auth::proof(token_, auth::Side::Client, role_, rank_, nonce_, server_nonce_)}}.dump();
}

void ClientHandshake::on_ok(std::string_view payload) const {
  std::string got;
  try {
    got = text_field(parse_object(payload), "proof");
  } catch (const std::exception& e) {
    throw RunError(fmt::format("exec: {}: malformed hello-ok: {}", who_, e.what()));
  }
  if (!auth::same(got, auth::proof(token_, auth::Side::Server, role_, rank_, nonce_, server_nonce_)))
    throw RunError(fmt::format("exec: {}: the server's proof of the run token is wrong — what answers on this address "
                               "is not a worker of this run",
                               who_));
}

ServerHandshake::ServerHandshake(std::string role, std::string token)
    : role_(std::move(role)), token_(std::move(token)), nonce_(auth::random_hex()) {}

std::string ServerHandshake::on_hello(std::string_view payload) {
  std::string role, version;
  try {
    auto j = parse_object(payload);
    role = text_field(j, "role");
    version = text_field(j, "version");
    client_nonce_ = nonce_field(j);
    auto r = j.find("rank");
    if (r == j.end() || !r->is_number_integer()) throw std::invalid_argument("no integer 'rank'");
    rank_ = r->get<int>();
  } catch (const std::exception& e) {
    throw Refused(fmt::format("malformed hello: {}", e.what()));
  }
  if (version != software_version())
    throw Refused(fmt::format("clustertwin {} refused: this worker runs clustertwin {} — install the same build on every "
                              "node",
                              version, software_version()));
  if (role != role_) throw Refused(fmt::format("expected a '{}' connection, got '{}'", role_, role));
  if (client_nonce_ == nonce_) throw Refused("the hello repeats this worker's nonce");
  return nlohmann::json{{"nonce", nonce_}, {"version", software_version()}}.dump();
}

std::string ServerHandshake::on_auth(std::string_view payload) const {
  std::string got;
  try {
    got = text_field(parse_object(payload), "proof");
  } catch (const std::exception& e) {
    throw Refused(fmt::format("malformed auth: {}", e.what()));
  }
  if (got.size() != kProofHex || !auth::same(got, auth::proof(token_, auth::Side::Client, role_, rank_, client_nonce_, nonce_)))
    throw Refused("wrong run token — this worker serves another run (check --token / CLUSTERTWIN_TOKEN)");
  return nlohmann::json{{"proof", auth::proof(token_, auth::Side::Server, role_, rank_, client_nonce_, nonce_)}}.dump();
}

}  // namespace clustertwin::exec
