// IPv4 addresses and subnets as the topology writes them ("10.10.0.1", "10.10.0.0/24"): enough
// to decide which interfaces share a subnet and which static route covers an address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace clustertwin::topo {

struct Subnet {
  uint32_t net = 0;  // network address (host bits zero)
  int prefix = 0;    // 0..32

  bool contains(uint32_t ip) const;
  bool operator==(const Subnet& o) const { return net == o.net && prefix == o.prefix; }
  bool operator<(const Subnet& o) const { return net != o.net ? net < o.net : prefix < o.prefix; }
};

std::optional<uint32_t> parse_ipv4(std::string_view text);        // "10.10.0.1"
std::string ipv4_str(uint32_t ip);                                 // "10.10.0.1"
uint32_t netmask(int prefix);
Subnet subnet_of(uint32_t ip, int prefix);
std::string subnet_str(const Subnet& s);                           // "10.10.0.0/24"
bool is_loopback(uint32_t ip);                                     // 127.0.0.0/8

// "a.b.c.d/n" -> address and prefix; "a.b.c.d" -> address and nullopt prefix. nullopt when the
// text is not an IPv4 address (a host name, IPv6: kept as text, outside the subnet model).
struct ParsedAddress {
  uint32_t ip = 0;
  std::optional<int> prefix;
};
std::optional<ParsedAddress> parse_address(std::string_view text);

}  // namespace clustertwin::topo
