// CUDA builtins for the host C++ compiler, so that pgolf's generated CUDA C++ (prelude, kir
// kernels, the GEMM templates) compiles and runs on the CPU in the emulation tests
// (tests/cuda/cuda_emulator.h). Not part of the library: the emulator passes this file to the
// host compiler with -include.
//
// One block runs at a time, on the calling thread. In a kernel that synchronises (warp or block
// reductions, the GEMMs) every CUDA thread of the block is a fiber (ucontext), and every barrier
// (__syncthreads, __syncwarp, each half of a shuffle) yields to a scheduler that resumes the
// unfinished fibers in order, one barrier per round. Code that reaches its barriers uniformly
// (as CUDA requires) therefore stays in lockstep per block and per warp; a shuffle is an exchange
// through per-thread slots between two barriers. __shared__ variables are function statics.
// Kernels that never synchronise run their threads one after another, without fibers.
#pragma once
#include <math.h>
#include <ucontext.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

struct PgEmuDim3 {
    unsigned x = 0, y = 0, z = 0;
};
inline PgEmuDim3 threadIdx, blockIdx, blockDim, gridDim;

// Fibers of the running block.
struct PgEmuFibers {
    ucontext_t scheduler;
    std::vector<ucontext_t> fibers;
    std::vector<std::unique_ptr<char[]>> stacks;
    std::vector<char> done;
    std::vector<unsigned long long> slots;  // shuffle exchange, one per thread
    unsigned current = 0;
    void (*fn)(void**) = nullptr;
    void** args = nullptr;
};
inline PgEmuFibers* pg_emu_fibers = nullptr;

inline void pg_emu_barrier() {
    PgEmuFibers& f = *pg_emu_fibers;
    swapcontext(&f.fibers[f.current], &f.scheduler);
}
inline void __syncthreads() { pg_emu_barrier(); }
inline void __syncwarp(unsigned = 0xffffffffu) { pg_emu_barrier(); }

template <class T>
T pg_emu_exchange(T v, unsigned src_lane) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    const unsigned tid = threadIdx.x, base = tid / 32 * 32;
    std::memcpy(&pg_emu_fibers->slots[tid], &v, sizeof(T));
    pg_emu_barrier();
    T r;
    std::memcpy(&r, &pg_emu_fibers->slots[base + src_lane], sizeof(T));
    pg_emu_barrier();
    return r;
}
template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask) {
    return pg_emu_exchange(v, (threadIdx.x % 32) ^ static_cast<unsigned>(lane_mask));
}
template <class T>
T __shfl_sync(unsigned, T v, int src_lane) {
    return pg_emu_exchange(v, static_cast<unsigned>(src_lane));
}

inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline int atomicAdd(int* p, int v) { return std::atomic_ref<int>(*p).fetch_add(v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return std::atomic_ref<unsigned long long>(*p).fetch_add(v);
}
inline unsigned atomicCAS(unsigned* p, unsigned expected, unsigned desired) {
    std::atomic_ref<unsigned>(*p).compare_exchange_strong(expected, desired);
    return expected;
}

inline void pg_emu_fiber_main(int t) {
    PgEmuFibers& f = *pg_emu_fibers;
    f.fn(f.args);
    f.done[static_cast<size_t>(t)] = 1;
}

// Runs fn(args) on a grid of gx x gy x gz blocks of `block` threads.
extern "C" void pg_emu_launch(void (*fn)(void**), void** args, unsigned gx, unsigned gy, unsigned gz, unsigned block,
                              int concurrent) {
    // 256 KiB per fiber: the generated kernels keep at most a few KiB of locals.
    constexpr size_t kStack = 256 * 1024;
    PgEmuFibers f;
    f.fn = fn;
    f.args = args;
    if (concurrent) {
        f.fibers.resize(block);
        f.done.resize(block);
        f.slots.resize(block);
        for (unsigned t = 0; t < block; ++t) f.stacks.emplace_back(new char[kStack]);
    }
    pg_emu_fibers = &f;
    blockDim = {block, 1, 1};
    gridDim = {gx, gy, gz};
    for (unsigned z = 0; z < gz; ++z)
        for (unsigned y = 0; y < gy; ++y)
            for (unsigned x = 0; x < gx; ++x) {
                blockIdx = {x, y, z};
                if (!concurrent) {
                    for (unsigned t = 0; t < block; ++t) {
                        threadIdx = {t, 0, 0};
                        fn(args);
                    }
                    continue;
                }
                for (unsigned t = 0; t < block; ++t) {
                    getcontext(&f.fibers[t]);
                    f.fibers[t].uc_stack.ss_sp = f.stacks[t].get();
                    f.fibers[t].uc_stack.ss_size = kStack;
                    f.fibers[t].uc_link = &f.scheduler;
                    makecontext(&f.fibers[t], reinterpret_cast<void (*)()>(&pg_emu_fiber_main), 1, static_cast<int>(t));
                    f.done[t] = 0;
                }
                for (bool running = true; running;) {
                    running = false;
                    for (unsigned t = 0; t < block; ++t) {
                        if (f.done[t]) continue;
                        f.current = t;
                        threadIdx = {t, 0, 0};
                        swapcontext(&f.scheduler, &f.fibers[t]);
                        running = true;
                    }
                }
            }
    pg_emu_fibers = nullptr;
}
