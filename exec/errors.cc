#include "exec/errors.h"

namespace clustertwin::exec {

std::string_view error_kind(const RunError& e) {
  if (dynamic_cast<const PeerLost*>(&e)) return "peer-lost";
  if (dynamic_cast<const Timeout*>(&e)) return "timeout";
  if (dynamic_cast<const WrongResult*>(&e)) return "wrong-result";
  if (dynamic_cast<const Cancelled*>(&e)) return "cancelled";
  return "error";
}

}  // namespace clustertwin::exec
