// clustertwin: predict (SimGrid), run (socket executor), compare; the one binary, kept thin.
#include "cli/app.h"

int main(int argc, char** argv) { return clustertwin::cli::run_command_line(argc, argv); }
