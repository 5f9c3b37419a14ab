// The topology lint (topologies/check.h) as the commands run it. `check` prints every finding;
// `predict` refuses a topology with errors (unless --ignore-check names them: a deliberate what-if)
// and prints its warnings, which the model already applies (a TB5 link on TB4 ports runs at the TB4
// rate, T012); `explain` and `run` print the findings and go on (a run measures what really happens).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "core/program.h"
#include "topologies/check.h"

namespace clustertwin::cli {

// The rank pairs a Program moves bytes between: its sends, and the steps of its collectives as the
// shared decomposition plans them (what both backends run).
topo::CheckOptions check_options(const core::Program& p);

// The codes --ignore-check names, each given as a code (T008) or a name (ports-exceeded); an input
// error naming the flag for anything else.
std::vector<std::string> ignored_codes(const std::vector<std::string>& given);

void print_findings(const topo::Topology& t, const std::vector<topo::Finding>& findings, std::FILE* to);

// predict: prints the warnings and the ignored codes to stderr; throws core::InputError when an
// error is left.
void require_checked(const topo::Topology& t, const core::Program& p, const std::vector<std::string>& ignored);

// explain, run: prints every finding to stderr.
void warn_findings(const topo::Topology& t, const core::Program& p);

}  // namespace clustertwin::cli
