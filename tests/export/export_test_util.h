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

#include "graph/tensor_data.h"
#include "runtime/error.h"

namespace pg::export_test {

class TempDir {
public:
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "pgolf-export-test-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    // Every entry name in the folder, sorted (to see that no temporary file is left behind).
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    std::filesystem::path path_;
};

inline void write_raw(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_raw(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct CommandResult {
    int status = -1;
    std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
    CommandResult r;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

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
