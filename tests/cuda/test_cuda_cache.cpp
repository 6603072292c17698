// CUDA kernel keys and the cubin cache: hits from memory and disk, misses on a changed arch,
// option or source, recovery from corrupt and truncated entries. Every case uses its own
// temporary cache directory.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "base/digest.h"
#include "base/env.h"
#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "runtime/kernel_cache.h"
#include "tests/codegen/llvm_test_util.h"
#include "tests/cuda/cuda_test_util.h"

namespace pg {
namespace {
namespace fs = std::filesystem;
namespace b = build;

// The CUDA kernels of tanh(x) * scale and x @ w (one elementwise kernel, one GEMM: as two outputs,
// not a sum, which would run in the GEMM's epilogue).
std::vector<CudaKernelSource> sources(double scale) {
    Graph g;
    NodeId x = b::param(g, "x", {64, 64});
    NodeId w = b::param(g, "w", {64, 64});
    g.set_output("tanh", b::mul(g, b::unary(g, Op::Tanh, x), scale));
    g.set_output("product", b::matmul(g, x, w));
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    return compile_plan(g, t).cuda_sources();
}

// The first scale from `from` on whose elementwise kernel compiles in another batch than the GEMM
// (nvrtc_compiler.cpp batches sources by the first hex digit of their digest, mod 8; a batch is
// one cache entry), so that changing the scale leaves the GEMM's batch, and its entry, alone.
double scale_apart_from_gemm(double from) {
    auto bucket = [](const CudaKernelSource& k) { return std::stoi(sha256_hex(k.source).substr(0, 1), nullptr, 16) % 8; };
    for (double scale = from;; scale += 1) {
        std::vector<CudaKernelSource> s = sources(scale);
        REQUIRE(s.size() == 2);
        if (bucket(s[0]) != bucket(s[1])) return scale;
    }
}

std::unique_ptr<CudaProgram> compile_cold(const std::vector<CudaKernelSource>& s, const std::string& arch = "sm_90a") {
    KernelCache::global().clear_memory();
    return CudaProgram::compile(s, {arch, true});
}

std::vector<fs::path> entries(const fs::path& dir) {
    std::vector<fs::path> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("cuda: a second compile hits the memory cache, then the disk cache, with identical cubins") {
    PG_SKIP_UNLESS_NVRTC();
    test::TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    auto s = sources(3);
    REQUIRE(s.size() == 2);
    auto p1 = compile_cold(s);
    CHECK(p1->stats().cache_hits == 0);
    CHECK(!entries(dir.path).empty());
    auto p2 = CudaProgram::compile(s, {"sm_90a", true});
    CHECK(p2->stats().cache_hits == 2);
    int64_t disk = KernelCache::global().stats().disk_hits;
    auto p3 = compile_cold(s);
    CHECK(p3->stats().cache_hits == 2);
    CHECK(KernelCache::global().stats().disk_hits > disk);
    for (size_t i = 0; i < s.size(); ++i) {
        CHECK(p3->cubin(i) == p1->cubin(i));
        CHECK(p3->report(i).cache_hit);
        REQUIRE(p3->report(i).entries.size() == p1->report(i).entries.size());
        CHECK(p3->report(i).entries[0].registers == p1->report(i).entries[0].registers);
    }
}

TEST_CASE("cuda: a changed arch, codegen option or source misses the cache") {
    PG_SKIP_UNLESS_NVRTC();
    test::TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    const double one = scale_apart_from_gemm(3), two = scale_apart_from_gemm(one + 1);
    compile_cold(sources(one));
    size_t files = entries(dir.path).size();

    CHECK(CudaProgram::nvrtc_options("sm_80") != CudaProgram::nvrtc_options("sm_90a"));
    auto other_arch = compile_cold(sources(one), "sm_80");
    CHECK(other_arch->stats().cache_hits == 0);
    CHECK(other_arch->stats().arch == "sm_80");
    CHECK(entries(dir.path).size() > files);

    {
        // A knob that affects codegen enters every kernel key.
        env::ScopedOverride knob("PG_CUDA_GEMM_MIN_FLOPS", "12345");
        CHECK(compile_cold(sources(one))->stats().cache_hits == 0);
    }
    auto changed = compile_cold(sources(two));  // the GEMM is unchanged, the elementwise kernel is not
    CHECK(changed->stats().batches == 2);       // one kernel per batch: a change recompiles only its own
    CHECK(changed->stats().cache_hits == 1);

    // Everything compiled so far now hits.
    CHECK(compile_cold(sources(one), "sm_80")->stats().cache_hits == 2);
    CHECK(compile_cold(sources(one))->stats().cache_hits == 2);
    CHECK(compile_cold(sources(two))->stats().cache_hits == 2);
}

TEST_CASE("cuda: corrupt and truncated cache entries are recompiled and rewritten") {
    PG_SKIP_UNLESS_NVRTC();
    test::TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    auto s = sources(5);
    auto good = compile_cold(s);
    auto files = entries(dir.path);
    REQUIRE(!files.empty());
    for (size_t i = 0; i < files.size(); ++i) {
        if (i % 2 == 0) {
            fs::resize_file(files[i], fs::file_size(files[i]) / 2);  // truncated
        } else {
            std::ofstream(files[i], std::ios::binary | std::ios::trunc) << "garbage";
        }
    }
    int64_t rejected = KernelCache::global().stats().rejected;
    auto again = compile_cold(s);
    CHECK(again->stats().cache_hits == 0);
    CHECK(KernelCache::global().stats().rejected >= rejected + static_cast<int64_t>(files.size()));
    for (size_t i = 0; i < s.size(); ++i) CHECK(again->cubin(i) == good->cubin(i));
    // Rewritten: the next cold compile hits.
    CHECK(compile_cold(s)->stats().cache_hits == static_cast<int>(s.size()));
}

TEST_CASE("cuda: without the cache every batch compiles and nothing is written") {
    PG_SKIP_UNLESS_NVRTC();
    test::TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    KernelCache::global().clear_memory();
    auto p = CudaProgram::compile(sources(7), {"sm_90a", false});
    CHECK(p->stats().cache_hits == 0);
    CHECK(entries(dir.path).empty());
}

}  // namespace pg
