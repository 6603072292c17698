// The pgolf entry point: subcommand dispatch, --help/--version, error reporting, `pgolf env`.
#include "frontend/cli/command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base/env.h"
#include "base/error.h"
#include "frontend/models/presets.h"

namespace pg::cli {
namespace {

std::vector<Command>& registry() {
    static std::vector<Command> r;
    return r;
}

void print_help() {
    fmt::print("pgolf {} — JIT kernel-compiling trainer for the Parameter Golf challenge\n\n", PG_VERSION);
    fmt::print("usage: pgolf <command> [--SETTING=value ...] [args]\n\ncommands:\n");
    std::vector<const Command*> sorted;
    for (const Command& c : registry()) sorted.push_back(&c);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const Command* c : sorted) fmt::print("  {:<10} {}\n", c->name, c->summary);
    fmt::print("\nSettings come from the environment or from --flags; `pgolf env` lists them.\n");
}

int run_env(std::vector<std::string> args) {
    PG_CHECK(args.empty(), "pgolf env takes no arguments (got '{}')", args.front());
    for (const env::Knob* k : env::all()) {
        fmt::print("{:<24} = {:<12} {}{}\n", k->name, env::get(k->name), k->doc,
                   k->affects_codegen ? " [codegen]" : "");
    }
    return 0;
}

PG_COMMAND({.name = "env",
            .summary = "list every setting with its current value, default source and doc",
            .usage = "pgolf env\n\nLists every environment setting: name, current value, doc. Settings "
                     "marked [codegen] change generated kernels and enter the kernel cache key.",
            .run = run_env});

}  // namespace

bool register_command(Command cmd) {
    registry().push_back(std::move(cmd));
    return true;
}

const std::vector<Command>& commands() { return registry(); }

const Command* find_command(const std::string& name) {
    auto it = std::find_if(registry().begin(), registry().end(), [&](const Command& c) { return c.name == name; });
    return it == registry().end() ? nullptr : &*it;
}

std::vector<std::string> apply_knob_flags(const std::vector<std::string>& args, const std::vector<std::string>& own) {
    std::vector<std::string> rest;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {  // the end of the options: the rest belongs to another program (pgolf launch)
            rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
            break;
        }
        if (a.rfind("--", 0) != 0 || a.size() <= 2) {
            rest.push_back(a);
            continue;
        }
        std::string body = a.substr(2);
        std::string value;
        bool has_value = false;
        if (auto eq = body.find('='); eq != std::string::npos) {
            value = body.substr(eq + 1);
            body = body.substr(0, eq);
            has_value = true;
        }
        std::string name;
        for (char c : body) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (!env::find(name) || std::find(own.begin(), own.end(), body) != own.end()) {
            rest.push_back(a);
            continue;
        }
        if (!has_value) {
            PG_CHECK(i + 1 < args.size(), "flag --{} needs a value (--{}=VALUE)", body, body);
            value = args[++i];
        }
        env::set_override(name, value);
    }
    return rest;
}

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_help();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        fmt::print("pgolf {}\n", PG_VERSION);
        return 0;
    }
    auto it = std::find_if(registry().begin(), registry().end(),
                           [&](const Command& c) { return c.name == args[0]; });
    if (it == registry().end()) {
        fmt::print(stderr, "pgolf: unknown command '{}'; `pgolf --help` lists the commands\n", args[0]);
        return 2;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
        fmt::print("{}\n", it->usage);
        return 0;
    }
    try {
        std::vector<std::string> command_args = apply_knob_flags(rest, it->options);
        apply_preset_setting();
        return it->run(command_args);
    } catch (const Error& e) {
        fmt::print(stderr, "pgolf {}: error: {}\n", it->name, e.what());
        return 1;
    } catch (const InternalError& e) {
        fmt::print(stderr, "pgolf {}: {}\n(this is a bug in pgolf; please report it)\n", it->name, e.what());
        return 3;
    } catch (const std::exception& e) {
        fmt::print(stderr, "pgolf {}: error: {}\n", it->name, e.what());
        return 1;
    }
}

}  // namespace pg::cli
