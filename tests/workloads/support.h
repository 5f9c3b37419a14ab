// Test helpers: check a compiled Program is valid and cannot deadlock, and time it on an ideal
// machine (each op a given duration, unlimited links) to check schedules against closed forms.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/timing.h"
#include "workloads/workload.h"

namespace clustertwin::work::support {

// The ideal run (workloads/timing.h), for schedules against closed forms.
using work::Timing;
using work::time_program;

// validate() + every op runs on the ideal machine.
::testing::AssertionResult runnable(const core::Program& p);

// A cluster of n identical ranks with `memory` bytes each, usable in full.
Cluster cluster(int n, double memory = 1e15, double flops = 1e12);

Workload parse(const std::string& yaml);
// `error_of(yaml)`: the InputError text parsing produces, or "(no error)".
std::string error_of(const std::string& yaml);

}  // namespace clustertwin::work::support
