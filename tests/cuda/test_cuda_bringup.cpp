// Safe bring-up without a GPU: the NVRTC/driver version decision over every case (older, equal,
// newer minor, newer major, no driver), and the checked launch-by-launch path naming the launch
// that faulted and enqueuing nothing after it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/cuda/checked_launches.h"
#include "runtime/cuda/cuda_compat.h"
#include "runtime/nan_check.h"

namespace pg {
namespace {

using cuda::nvrtc_driver_compat;

TEST_CASE("cuda bring-up: NVRTC's cubins are accepted only for a driver of the same or a newer CUDA major") {
    CHECK(nvrtc_driver_compat(12, 4, 12040).ok);            // equal
    CHECK(nvrtc_driver_compat(12, 4, 12040).message.empty());
    CHECK(nvrtc_driver_compat(12, 8, 13000).ok);            // older NVRTC major: a 13 driver runs 12's cubins
    CHECK(nvrtc_driver_compat(13, 0, 0).ok);                // no driver: compiling only
    cuda::NvrtcDriverCompat minor = nvrtc_driver_compat(12, 8, 12040);
    CHECK(minor.ok);                                        // newer minor: minor-version compatibility
    CHECK(minor.message.find("no PTX JIT") != std::string::npos);
    cuda::NvrtcDriverCompat major = nvrtc_driver_compat(13, 0, 12080);
    CHECK_FALSE(major.ok);
    CHECK(major.message.find("NVRTC 13.0") != std::string::npos);
    CHECK(major.message.find("CUDA 12.8") != std::string::npos);
    CHECK(major.message.find("nvidia-cuda-nvrtc-cu12") != std::string::npos);  // what to install
}

TEST_CASE("cuda bring-up: the NVRTC loader's preference stops at the driver's CUDA major") {
    CHECK(cuda::max_nvrtc_major(12080) == 12);
    CHECK(cuda::max_nvrtc_major(13000) == 13);
    CHECK(cuda::max_nvrtc_major(0) == 0);
}

TEST_CASE("cuda bring-up: checked launches run one by one and name the launch that faulted") {
    std::vector<std::string> events;
    size_t faulting = 2;
    size_t enqueued = 0;
    CheckedLaunches launches{
        .enqueue = [&](size_t i) { events.push_back("launch " + std::to_string(i)); enqueued = i; },
        .wait = [&] {
            events.push_back("wait");
            if (enqueued == faulting) throw Error("CUDA call cuCtxSynchronize() failed: CUDA_ERROR_ILLEGAL_ADDRESS");
        },
        .describe = [](size_t i) { return "k00" + std::to_string(i) + "_mul (entry k_p0, grid 4x1x1, block 256)"; }};

    run_checked(2, launches);  // no fault among the first two
    CHECK(events == std::vector<std::string>{"launch 0", "wait", "launch 1", "wait"});

    events.clear();
    try {
        run_checked(5, launches);
        FAIL("the fault in launch 3 was not reported");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(what.find("launch 3 of 5") != std::string::npos);
        CHECK(what.find("k002_mul (entry k_p0") != std::string::npos);
        CHECK(what.find("CUDA_ERROR_ILLEGAL_ADDRESS") != std::string::npos);
    }
    // Nothing after the faulting launch was enqueued.
    CHECK(events == std::vector<std::string>{"launch 0", "wait", "launch 1", "wait", "launch 2", "wait"});
}

TEST_CASE("cuda bring-up: the after-launch hook (PG_NAN_CHECK=full) runs after each wait; its error is not wrapped") {
    std::vector<std::string> events;
    CheckedLaunches launches{
        .enqueue = [&](size_t i) { events.push_back("launch " + std::to_string(i)); },
        .wait = [&] { events.push_back("wait"); },
        .describe = [](size_t i) { return "k00" + std::to_string(i); },
        .after = [&](size_t i) {
            events.push_back("after " + std::to_string(i));
            if (i == 1) throw NonFiniteError("k001_exp [4]", "kernel k001_exp [4] wrote nan at element 2");
        }};
    try {
        run_checked(3, launches);
        FAIL("the non-finite output of launch 1 was not reported");
    } catch (const NonFiniteError& e) {
        CHECK(e.kernel() == "k001_exp [4]");  // the trainer's NaN guard catches this type
        CHECK(std::string(e.what()).find("GPU fault") == std::string::npos);
    }
    CHECK(events == std::vector<std::string>{"launch 0", "wait", "after 0", "launch 1", "wait", "after 1"});
}

}  // namespace
}  // namespace pg
