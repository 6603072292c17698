// Helpers shared by the export tests: a self-removing temporary folder, raw file reading and
// writing, running a command with its output, the Python with torch used as the oracle, random
// tensors, and catching the message of a pg::Error.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "graph/tensor_data.h"
#include "tests/support/test_files.h"

namespace pg::export_test {

// A temporary folder named pgolf-export-test-XXXXXX.
class TempDir : public testing::TempDir {
public:
    TempDir() : testing::TempDir("pgolf-export-test") {}
};

inline void write_raw(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_raw(const std::filesystem::path& path) { return testing::read_file(path); }

using testing::CommandResult;
using testing::run_command;

// Debian's python3 carries python3-torch; a pyenv `python3` on PATH usually does not.
inline constexpr const char* kPython = "/usr/bin/python3";

inline bool python_has(const std::string& module) {
    return run_command(std::string(kPython) + " -c 'import " + module + "'").status == 0;
}

inline std::string script_path(const std::string& name) { return std::string(PG_SOURCE_DIR) + "/tests/export/" + name; }

// The message of the pg::Error that `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

inline HostTensor random_tensor(DType t, Shape shape, std::mt19937& rng, double std = 1.0) {
    HostTensor out(t, std::move(shape));
    std::normal_distribution<double> normal(0.0, std);
    std::uniform_int_distribution<int> ints(0, 1000);
    for (int64_t i = 0; i < out.numel(); ++i) {
        if (is_float(t)) out.set(i, normal(rng));
        else if (t == DType::boolean) out.set(i, ints(rng) % 2);
        else out.set(i, ints(rng) - (t == DType::i64 || t == DType::i32 ? 500 : 0));
    }
    return out;
}

inline bool same_tensor(const HostTensor& a, const HostTensor& b) {
    return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes;
}

}  // namespace pg::export_test
