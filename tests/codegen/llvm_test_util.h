// Helpers of the LLVM renderer tests: kir statement builders, host buffers and kernel launches.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "codegen/kir.h"
#include "graph/dtype.h"
#include "runtime/cpu_jit.h"

namespace pg::test {

inline kir::Stmt loop(int var, int64_t extent, std::vector<kir::Stmt> body, bool parallel = false) {
    kir::Stmt s;
    s.kind = kir::StmtKind::Loop;
    s.var = var;
    s.extent = extent;
    s.parallel = parallel;
    s.body = std::move(body);
    return s;
}

inline kir::Stmt store(int buffer, kir::ExprRef index, kir::ExprRef value, bool add = false) {
    kir::Stmt s;
    s.kind = add ? kir::StmtKind::StoreAdd : kir::StmtKind::Store;
    s.buffer = buffer;
    s.index = std::move(index);
    s.value = std::move(value);
    return s;
}

inline kir::Stmt let(int var, kir::ExprRef value) {
    kir::Stmt s;
    s.kind = kir::StmtKind::Let;
    s.var = var;
    s.value = std::move(value);
    return s;
}

inline kir::Stmt acc_init(int var, kir::ExprRef value) {
    kir::Stmt s;
    s.kind = kir::StmtKind::AccInit;
    s.var = var;
    s.value = std::move(value);
    return s;
}

inline kir::Stmt acc_update(int var, Op op, kir::ExprRef value) {
    kir::Stmt s;
    s.kind = kir::StmtKind::AccUpdate;
    s.var = var;
    s.op = op;
    s.value = std::move(value);
    return s;
}

// out[i] = f(in_0[i], in_1[i], ...) over a parallel loop of n elements.
inline kir::Kernel map_kernel(const std::string& name, const std::vector<DType>& inputs, DType out, int64_t n,
                              const std::function<kir::ExprRef(const std::vector<kir::ExprRef>&)>& f) {
    kir::Kernel k;
    k.name = name;
    for (size_t i = 0; i < inputs.size(); ++i) k.buffers.push_back({"in" + std::to_string(i), inputs[i], n, false});
    k.buffers.push_back({"out", out, n, true});
    int i = k.new_var("i", DType::i64);
    std::vector<kir::ExprRef> loaded;
    for (size_t b = 0; b < inputs.size(); ++b) loaded.push_back(kir::load(static_cast<int>(b), inputs[b], kir::var(i, DType::i64)));
    k.body = {loop(i, n, {store(static_cast<int>(inputs.size()), kir::var(i, DType::i64), f(loaded))}, true)};
    return k;
}

// A host buffer of n elements of one dtype.
struct HostBuf {
    DType dtype;
    std::vector<uint8_t> bytes;
    HostBuf(DType t, int64_t n) : dtype(t), bytes(static_cast<size_t>(n) * dtype_size(t), 0) {}
    int64_t size() const { return static_cast<int64_t>(bytes.size() / dtype_size(dtype)); }
    void* at(int64_t i) { return bytes.data() + static_cast<size_t>(i) * dtype_size(dtype); }
    double get(int64_t i) const { return load_as_double(bytes.data() + static_cast<size_t>(i) * dtype_size(dtype), dtype); }
    void set(int64_t i, double v) { store_from_double(at(i), dtype, v); }
    uint16_t bits16(int64_t i) const {
        uint16_t b;
        std::memcpy(&b, bytes.data() + static_cast<size_t>(i) * 2, 2);
        return b;
    }
};

// Runs fn over [0, extent) split across the global pool, as the executor does.
inline void launch(CpuKernelFn fn, std::vector<HostBuf*> bufs, int64_t extent) {
    std::vector<void*> ptrs;
    for (HostBuf* b : bufs) ptrs.push_back(b->bytes.data());
    ThreadPool::global().parallel_for(0, extent, [&](int64_t lo, int64_t hi) { fn(ptrs.data(), lo, hi); });
}

inline void launch_range(CpuKernelFn fn, std::vector<HostBuf*> bufs, int64_t begin, int64_t end) {
    std::vector<void*> ptrs;
    for (HostBuf* b : bufs) ptrs.push_back(b->bytes.data());
    fn(ptrs.data(), begin, end);
}

// |got - want| / |want| (absolute when want is 0); NaN matches NaN only.
inline double rel_err(double got, double want) {
    if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got) ? 0 : INFINITY;
    if (got == want) return 0;
    return std::fabs(got - want) / (want == 0 ? 1.0 : std::fabs(want));
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("pgolf-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string str() const { return path.string(); }
};

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace pg::test
