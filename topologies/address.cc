#include "topologies/address.h"

#include <charconv>

#include <fmt/format.h>

namespace clustertwin::topo {

namespace {
std::optional<unsigned> parse_uint(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}
}  // namespace

uint32_t netmask(int prefix) { return prefix <= 0 ? 0u : prefix >= 32 ? ~0u : ~0u << (32 - prefix); }

bool Subnet::contains(uint32_t ip) const { return (ip & netmask(prefix)) == net; }

Subnet subnet_of(uint32_t ip, int prefix) { return {ip & netmask(prefix), prefix}; }

bool is_loopback(uint32_t ip) { return (ip >> 24) == 127; }

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t ip = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    auto octet = parse_uint(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    ip = ip << 8 | *octet;
    text.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return text.empty() ? std::optional<uint32_t>(ip) : std::nullopt;
}

std::optional<ParsedAddress> parse_address(std::string_view text) {
  ParsedAddress out;
  size_t slash = text.find('/');
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip) return std::nullopt;
  out.ip = *ip;
  if (slash != std::string_view::npos) {
    auto prefix = parse_uint(text.substr(slash + 1), 32);
    if (!prefix) return std::nullopt;
    out.prefix = static_cast<int>(*prefix);
  }
  return out;
}

std::string ipv4_str(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

std::string subnet_str(const Subnet& s) { return fmt::format("{}/{}", ipv4_str(s.net), s.prefix); }

}  // namespace clustertwin::topo
