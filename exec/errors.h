// Internal kinds of RunError, so a worker can tell the coordinator whether it failed on its own
// (a wrong result, a timeout) or only because another rank went away, and the coordinator can put
// the root cause first in its message.
#pragma once

#include <string>
#include <string_view>

#include "exec/executor.h"

namespace clustertwin::exec {

// A peer closed or reset its connection: usually the consequence of another rank's failure.
class PeerLost : public RunError {
 public:
  using RunError::RunError;
};

// Nothing moved for longer than the bound.
class Timeout : public RunError {
 public:
  using RunError::RunError;
};

// A collective's result differs from the expected sum.
class WrongResult : public RunError {
 public:
  using RunError::RunError;
};

// The run was stopped from outside (another thread failed, the coordinator aborted).
class Cancelled : public RunError {
 public:
  using RunError::RunError;
};

// "peer-lost", "timeout", "wrong-result", "cancelled" or "error": the `kind` of an error frame.
std::string_view error_kind(const RunError& e);

}  // namespace clustertwin::exec
