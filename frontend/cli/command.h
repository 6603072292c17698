// Subcommand registry of the pgolf binary. Each subcommand lives in its own file and registers
// itself with PG_COMMAND; `pgolf --help` lists them.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace pg::cli {

struct Command {
    std::string name;
    std::string summary;  // one line for `pgolf --help`
    std::string usage;    // full help for `pgolf NAME --help`
    std::function<int(std::vector<std::string> args)> run;
    // The command's own --options (e.g. eval's --model FILE): passed to it, never read as the
    // setting of the same name (MODEL is the model family, --model the file to evaluate).
    std::vector<std::string> options = {};
};

bool register_command(Command cmd);
const std::vector<Command>& commands();
// The registered command `name`, or null.
const Command* find_command(const std::string& name);

// Runs the binary: dispatches argv[1], prints pg::Error messages and returns the exit status.
int main(int argc, char** argv);

// Applies every "--NAME=value" / "--NAME value" flag whose NAME (upper-cased, '-' -> '_') is a
// registered knob as an env override; returns the arguments that were not such flags. A "--"
// ends the flags: it and everything after it are returned untouched. The command's own options
// (`own`, lower-case as in Command::options) are returned untouched too.
std::vector<std::string> apply_knob_flags(const std::vector<std::string>& args,
                                          const std::vector<std::string>& own = {});

}  // namespace pg::cli

#define PG_CMD_CONCAT2(a, b) a##b
#define PG_CMD_CONCAT(a, b) PG_CMD_CONCAT2(a, b)
#define PG_COMMAND(...) \
    static const bool PG_CMD_CONCAT(pg_command_, __LINE__) = ::pg::cli::register_command(::pg::cli::Command __VA_ARGS__)
