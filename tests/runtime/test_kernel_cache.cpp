// Kernel cache: keys, memory and disk hits, misses on changed kir/options/target, recovery from
// corrupt entries, PG_CACHE_DIR=off. Every case uses its own temporary cache directory.
#include <cstdlib>

#include "base/env.h"
#include "codegen/kernel_key.h"
#include "runtime/kernel_cache.h"
#include "tests/codegen/llvm_test_util.h"

using namespace pg;
using namespace pg::test;
namespace fs = std::filesystem;

namespace {

// out[i] = in[i] * scale
kir::Kernel scale_kernel(double scale, const std::string& name = "t_cache_scale") {
    return map_kernel(name, {DType::f32}, DType::f32, 64, [scale](const auto& in) {
        return kir::compute(Op::Mul, DType::f32, {in[0], kir::constant(scale, DType::f32)});
    });
}

void check_runs(const CpuProgram& p, double scale) {
    HostBuf x(DType::f32, 64), y(DType::f32, 64);
    for (int64_t i = 0; i < 64; ++i) x.set(i, static_cast<double>(i));
    launch(p.fn(0), {&x, &y}, 64);
    for (int64_t i = 0; i < 64; ++i) REQUIRE(y.get(i) == static_cast<double>(i) * scale);
}

std::vector<fs::path> entries(const fs::path& dir) {
    std::vector<fs::path> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Compiles with an empty memory cache, so that the disk cache decides.
std::unique_ptr<CpuProgram> compile_cold(const kir::Kernel& k, const CpuCompileOptions& o = {}) {
    KernelCache::global().clear_memory();
    return CpuProgram::compile({k}, o);
}

}  // namespace

TEST_CASE("KernelKey digests every field, unambiguously") {
    KernelKey base = make_kernel_key("kernel k() {}", "llvm", "x86_64;znver3;+avx2", "O3", "", "LLVM 14");
    std::string d = base.digest();
    CHECK(d.size() == 64);
    CHECK(d == base.digest());
    CHECK(base.codegen_fingerprint.size() == 16);  // set by the build
    auto differs = [&](auto mutate) {
        KernelKey k = base;
        mutate(k);
        return k.digest() != d;
    };
    CHECK(differs([](KernelKey& k) { k.kir_text += " "; }));
    CHECK(differs([](KernelKey& k) { k.renderer = "cuda"; }));
    CHECK(differs([](KernelKey& k) { k.target = "x86_64;generic"; }));
    CHECK(differs([](KernelKey& k) { k.options = "O2"; }));
    CHECK(differs([](KernelKey& k) { k.prelude_digest = "abc"; }));
    CHECK(differs([](KernelKey& k) { k.compiler_version = "LLVM 15"; }));
    CHECK(differs([](KernelKey& k) { k.codegen_fingerprint = "0"; }));
    CHECK(differs([](KernelKey& k) { k.format_version += 1; }));
    // Shifting text between fields changes the digest.
    KernelKey a = base, b = base;
    a.renderer = "ab";
    a.target = "c";
    b.renderer = "a";
    b.target = "bc";
    CHECK(a.digest() != b.digest());
}

TEST_CASE("a second compile hits the memory cache, then the disk cache") {
    TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    CHECK(KernelCache::directory() == dir.str());
    auto p1 = compile_cold(scale_kernel(3));
    CHECK(p1->stats().compiled == 1);
    CHECK(p1->stats().cache_hits == 0);
    check_runs(*p1, 3);
    auto files = entries(dir.path);
    REQUIRE(files.size() == 1);
    CHECK(files[0].extension() == ".pgk");

    auto p2 = CpuProgram::compile({scale_kernel(3)});  // same process: memory
    CHECK(p2->stats().cache_hits == 1);
    CHECK(p2->stats().compiled == 0);
    check_runs(*p2, 3);

    int64_t disk_hits = KernelCache::global().stats().disk_hits;
    auto p3 = compile_cold(scale_kernel(3));  // as a new process would: disk
    CHECK(p3->stats().cache_hits == 1);
    CHECK(KernelCache::global().stats().disk_hits == disk_hits + 1);
    check_runs(*p3, 3);
    check_runs(*p1, 3);  // every program keeps its own JIT alive
}

TEST_CASE("changed kir, options or target miss the cache") {
    TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    compile_cold(scale_kernel(3));
    REQUIRE(entries(dir.path).size() == 1);

    auto kir_changed = compile_cold(scale_kernel(4));
    CHECK(kir_changed->stats().compiled == 1);
    check_runs(*kir_changed, 4);
    CHECK(entries(dir.path).size() == 2);

    auto renamed = compile_cold(scale_kernel(3, "t_cache_other_name"));
    CHECK(renamed->stats().compiled == 1);

    CpuCompileOptions o2;
    o2.opt_level = 2;
    auto option_changed = compile_cold(scale_kernel(3), o2);
    CHECK(option_changed->stats().compiled == 1);
    check_runs(*option_changed, 3);

    CpuCompileOptions generic;
    generic.cpu = "x86-64";
    CHECK(CpuProgram::target_string(generic) != CpuProgram::target_string({}));
    auto target_changed = compile_cold(scale_kernel(3), generic);
    CHECK(target_changed->stats().compiled == 1);
    check_runs(*target_changed, 3);
    CHECK(entries(dir.path).size() == 5);

    // Each of them now hits.
    CHECK(compile_cold(scale_kernel(3), generic)->stats().cache_hits == 1);
    CHECK(compile_cold(scale_kernel(3), o2)->stats().cache_hits == 1);
    CHECK(compile_cold(scale_kernel(4))->stats().cache_hits == 1);
}

TEST_CASE("truncated, garbage or foreign cache entries are ignored, recompiled and rewritten") {
    TempDir dir;
    env::ScopedOverride cache("PG_CACHE_DIR", dir.str());
    compile_cold(scale_kernel(5));
    compile_cold(scale_kernel(6));
    auto files = entries(dir.path);
    REQUIRE(files.size() == 2);
    std::string good = read_text(files[0]);
    std::string other = read_text(files[1]);
    auto write = [&](const std::string& bytes) { std::ofstream(files[0], std::ios::binary | std::ios::trunc) << bytes; };
    // Which kernel owns files[0]? Try both scales after damage; exactly the owner recompiles.
    auto recompiles = [&] {
        int64_t rejected = KernelCache::global().stats().rejected;
        auto a = compile_cold(scale_kernel(5));
        auto b = compile_cold(scale_kernel(6));
        check_runs(*a, 5);
        check_runs(*b, 6);
        CHECK(a->stats().compiled + b->stats().compiled == 1);
        CHECK(KernelCache::global().stats().rejected == rejected + 1);
        // Rewritten: the next cold compile of both hits.
        CHECK(compile_cold(scale_kernel(5))->stats().cache_hits == 1);
        CHECK(compile_cold(scale_kernel(6))->stats().cache_hits == 1);
        CHECK(read_text(files[0]) == good);
    };
    SUBCASE("truncated payload") {
        write(good.substr(0, good.size() - 7));
        recompiles();
    }
    SUBCASE("truncated header") {
        write(good.substr(0, 20));
        recompiles();
    }
    SUBCASE("garbage") {
        std::string junk(good.size(), '\0');
        for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
        write(junk);
        recompiles();
    }
    SUBCASE("flipped payload byte") {
        std::string bad = good;
        bad[bad.size() - 3] = static_cast<char>(bad[bad.size() - 3] ^ 0x5a);
        write(bad);
        recompiles();
    }
    SUBCASE("another key's entry") {
        write(other);
        recompiles();
    }
    SUBCASE("empty file") {
        write("");
        recompiles();
    }
}

TEST_CASE("PG_CACHE_DIR=off keeps only the in-process cache") {
    TempDir home;
    env::ScopedOverride cache("PG_CACHE_DIR", "off");
    CHECK(KernelCache::directory().empty());
    auto p1 = compile_cold(scale_kernel(7));
    CHECK(p1->stats().compiled == 1);
    check_runs(*p1, 7);
    auto p2 = CpuProgram::compile({scale_kernel(7)});
    CHECK(p2->stats().cache_hits == 1);
    CHECK(compile_cold(scale_kernel(7))->stats().compiled == 1);  // nothing on disk
    CpuCompileOptions no_cache;
    no_cache.use_cache = false;
    CHECK(CpuProgram::compile({scale_kernel(7)}, no_cache)->stats().compiled == 1);
}

TEST_CASE("the default cache directory follows XDG_CACHE_HOME, then HOME") {
    env::ScopedOverride cache("PG_CACHE_DIR", "");
    const char* old_xdg = std::getenv("XDG_CACHE_HOME");
    std::string saved = old_xdg ? old_xdg : "";
    setenv("XDG_CACHE_HOME", "/tmp/pgolf-xdg", 1);
    CHECK(KernelCache::directory() == "/tmp/pgolf-xdg/pgolf");
    unsetenv("XDG_CACHE_HOME");
    if (const char* home = std::getenv("HOME"); home && *home)
        CHECK(KernelCache::directory() == std::string(home) + "/.cache/pgolf");
    if (old_xdg) setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST_CASE("an unwritable cache directory warns and still compiles") {
    TempDir dir;
    fs::path blocker = dir.path / "not_a_dir";
    std::ofstream(blocker) << "x";  // a file where the cache directory should be
    env::ScopedOverride cache("PG_CACHE_DIR", blocker.string());
    auto p = compile_cold(scale_kernel(9));
    CHECK(p->stats().compiled == 1);
    check_runs(*p, 9);
}
