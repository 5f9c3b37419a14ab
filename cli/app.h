// Subcommand registration: each file adds its subcommands to the app and does its work in the
// subcommand's CLI11 callback, so a new command is a new file plus one line in main.cc.
#pragma once

#include <CLI/CLI.hpp>

namespace clustertwin::cli {

// Parses argv, runs the subcommand and returns the exit code; errors are printed on stderr.
int run_command_line(int argc, char** argv);

void add_pipeline_commands(CLI::App& app);  // predict, run, compare, demo
void add_worker_command(CLI::App& app);
void add_presets_command(CLI::App& app);
void add_topology_commands(CLI::App& app);  // check, topology show|presets
void add_workload_commands(CLI::App& app);  // explain
void add_calibration_commands(CLI::App& app);  // calibration import-iperf3
void add_interop_commands(CLI::App& app);      // import mlx-hostfile|measured, export mlx-hostfile
void add_exec_commands(CLI::App& app);      // bench, emulate
void add_validate_command(CLI::App& app);
void add_plan_command(CLI::App& app);        // plan: the what-if planner

}  // namespace clustertwin::cli
