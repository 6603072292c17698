// The pgolf binary: everything lives in the library; subcommands register themselves.
#include "frontend/cli/command.h"

int main(int argc, char** argv) { return pg::cli::main(argc, argv); }
