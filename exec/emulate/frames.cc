#include "exec/emulate/frames.h"

#include <algorithm>

namespace clustertwin::exec::emulate {

uint64_t wire_bytes(const unsigned char* ip, size_t n, int mtu) {
  if (n < 20 || (ip[0] >> 4) != 4) return n + kEthernetHeaderBytes;
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  size_t total = (static_cast<size_t>(ip[2]) << 8) | ip[3];
  if (total == 0) total = 65535;  // a GSO packet past 64 KiB (BIG TCP) leaves its length unset
  size_t headers = ihl;
  if (ip[9] == 6 && n >= ihl + 13) headers += static_cast<size_t>(ip[ihl + 12] >> 4) * 4;  // TCP data offset
  if (total <= static_cast<size_t>(mtu) || headers >= static_cast<size_t>(mtu) || total < headers)
    return total + kEthernetHeaderBytes;
  const size_t payload = total - headers, per_segment = static_cast<size_t>(mtu) - headers;
  const size_t segments = (payload + per_segment - 1) / per_segment;
  return payload + segments * (headers + kEthernetHeaderBytes);
}

}  // namespace clustertwin::exec::emulate
