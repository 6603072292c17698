// pg::Error (a user mistake: says what was wrong and what to do) and pg::InternalError (a broken
// invariant), plus the PG_CHECK family of macros that throw them with file:line.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace pg {

// A mistake the user can fix: bad input, bad flag, bad shape. The message names the culprit.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A bug in pgolf itself. The message carries the failed condition and its location.
class InternalError : public std::logic_error {
public:
    explicit InternalError(const std::string& what) : std::logic_error(what) {}
};

[[noreturn]] void throw_internal(const char* cond, const char* file, int line, const std::string& msg);

}  // namespace pg

// User-facing check: throws pg::Error with the formatted message.
#define PG_CHECK(cond, ...)                                          \
    do {                                                             \
        if (!(cond)) throw ::pg::Error(::fmt::format(__VA_ARGS__)); \
    } while (0)

// Invariant check: throws pg::InternalError naming the condition, file and line.
#define PG_ASSERT(cond, ...)                                                           \
    do {                                                                               \
        if (!(cond)) ::pg::throw_internal(#cond, __FILE__, __LINE__, ::fmt::format("" __VA_ARGS__)); \
    } while (0)

#define PG_UNREACHABLE(...) ::pg::throw_internal("unreachable", __FILE__, __LINE__, ::fmt::format("" __VA_ARGS__))
