// The CUDA family's libraries and errors: probes report a path and version or a clear reason,
// a missing GPU is a pg::Error (never a crash), arch names are checked, and a failed NVRTC
// compile reports the compiler's log and where the source was written.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <filesystem>

#include "base/env.h"
#include "base/error.h"
#include "graph/build.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "runtime/executable.h"
#include "tests/codegen/llvm_test_util.h"
#include "tests/cuda/cuda_test_util.h"

namespace pg {

TEST_CASE("cuda: library probes report a path and a version, or a clear reason") {
    LibraryStatus n = nvrtc_status();
    MESSAGE("nvrtc: ", n.detail);
    CHECK(!n.detail.empty());
    if (n.ok) CHECK(n.detail.find("NVRTC") != std::string::npos);
    else CHECK(n.detail.find("NVRTC") != std::string::npos);  // names what is missing

    LibraryStatus d = cuda_driver_status();
    MESSAGE("driver: ", d.detail);
    CHECK(!d.detail.empty());
    if (!d.ok) CHECK((d.detail.find("driver") != std::string::npos || d.detail.find("device") != std::string::npos));

    LibraryStatus c = nccl_status();
    MESSAGE("nccl: ", c.detail);
    if (c.ok) CHECK(c.detail.find("NCCL 2.") != std::string::npos);
    else CHECK(c.detail.find("NCCL") != std::string::npos);
}

TEST_CASE("cuda: without a GPU the device and the executable throw pg::Error, the CPU path keeps working") {
    std::string why = testing::gpu_missing();
    if (why.empty()) {
        PG_SKIP("a GPU is present (" << CudaDevice::get().name() << "): this case checks the errors without one");
    }
    CHECK_THROWS_AS(CudaDevice::get(), Error);
    Graph g;
    g.set_output("y", build::add(g, build::param(g, "x", {4}), 1.0));
    CHECK_THROWS_AS(open_session("cuda"), Error);
    CHECK_NOTHROW(compile_executable(*open_session("cpu"), g)->run());
    CHECK(cuda_unavailable_reason() == why);
}

TEST_CASE("cuda: architecture names are checked against pgolf's needs and NVRTC's list") {
    PG_SKIP_UNLESS_NVRTC();
    CHECK(CudaProgram::resolve_arch("sm_90a") == "sm_90a");
    CHECK(CudaProgram::resolve_arch("sm_80") == "sm_80");
    CHECK_THROWS_WITH_AS(CudaProgram::resolve_arch("sm_75"), doctest::Contains("sm_80 or newer"), Error);
    CHECK_THROWS_WITH_AS(CudaProgram::resolve_arch("gfx90a"), doctest::Contains("not a GPU architecture"), Error);
    CHECK_THROWS_WITH_AS(CudaProgram::resolve_arch("sm_990"), doctest::Contains("supports"), Error);
    env::ScopedOverride arch("PG_CUDA_ARCH", "sm_80");
    CHECK(CudaProgram::resolve_arch("") == "sm_80");
}

TEST_CASE("cuda: a failed NVRTC compile reports the log and the path of the dumped source") {
    PG_SKIP_UNLESS_NVRTC();
    test::TempDir dir;
    env::ScopedOverride dump("PG_DUMP_DIR", dir.str());
    CudaKernelSource bad;
    bad.name = "broken";
    bad.source = "extern \"C\" __global__ void broken_p0(float* x) { x[0] = pg_no_such_function(x[1]); }\n";
    bad.launches = {{"broken_p0", {1, 1, 1}, 32}};
    try {
        CudaProgram::compile({bad}, {"sm_90a", false});
        FAIL("the compile should have failed");
    } catch (const InternalError& e) {
        std::string msg = e.what();
        CHECK(msg.find("NVRTC could not compile") != std::string::npos);
        CHECK(msg.find("pg_no_such_function") != std::string::npos);  // the compiler's log
        size_t at = msg.find(dir.str());
        REQUIRE(at != std::string::npos);
        std::string path = msg.substr(at, msg.find(".cu", at) + 3 - at);
        CHECK(std::filesystem::exists(path));
    }
}

}  // namespace pg
