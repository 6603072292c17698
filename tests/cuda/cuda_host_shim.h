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
//
// cp.async copies wait in per-thread commit groups until cp.async.wait_group lets them land, so a
// kernel that reads a stage before waiting for it reads stale data here as it would on a GPU.
// ldmatrix and cp.async also count shared-memory wavefronts: per phase (an 8x8 matrix of
// ldmatrix, a quarter warp of 16-byte cp.async), the largest number of distinct 4-byte words any
// of the 32 banks serves; pg_emu_smem_wavefronts == pg_emu_smem_phases means no bank conflict.
#pragma once
#include <math.h>
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
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

extern "C" {
long long pg_emu_smem_phases = 0, pg_emu_smem_wavefronts = 0;
}

// Counts the phases of one warp-wide shared-memory access: `lanes` addresses in `slots`, each
// of 16 bytes, 8 lanes per phase.
inline void pg_emu_count_phases(const unsigned long long* slots, int lanes) {
    for (int p = 0; p < lanes / 8; ++p) {
        std::vector<unsigned long long> words[32];
        int worst = 1;
        for (int l = 8 * p; l < 8 * p + 8; ++l)
            for (unsigned long long w = slots[l] / 4; w < slots[l] / 4 + 4; ++w) {
                std::vector<unsigned long long>& bank = words[w % 32];
                if (std::find(bank.begin(), bank.end(), w) == bank.end()) bank.push_back(w);
                worst = std::max(worst, static_cast<int>(bank.size()));
            }
        ++pg_emu_smem_phases;
        pg_emu_smem_wavefronts += worst;
    }
}

// Publishes this lane's address to its warp; lane 0 counts the warp's phases.
inline void pg_emu_warp_access(const void* address, int lanes) {
    const unsigned tid = threadIdx.x, base = tid / 32 * 32;
    pg_emu_fibers->slots[tid] = reinterpret_cast<unsigned long long>(address);
    pg_emu_barrier();
    if (tid == base) pg_emu_count_phases(&pg_emu_fibers->slots[base], lanes);
}

struct PgEmuCopy {
    void* dst;
    const void* src;
    int src_bytes;
};
struct PgEmuAsync {
    std::vector<PgEmuCopy> open;
    std::vector<std::vector<PgEmuCopy>> committed;
};
inline std::vector<PgEmuAsync> pg_emu_async;  // per thread of the running block

inline void pg_emu_cp_async16(void* dst, const void* src, int src_bytes) {
    pg_emu_warp_access(dst, 32);
    pg_emu_barrier();
    pg_emu_async[threadIdx.x].open.push_back({dst, src, src_bytes});
}
inline void pg_emu_cp_async_commit() {
    PgEmuAsync& a = pg_emu_async[threadIdx.x];
    a.committed.push_back(std::move(a.open));
    a.open.clear();
}
inline void pg_emu_cp_async_wait(int pending) {
    PgEmuAsync& a = pg_emu_async[threadIdx.x];
    while (static_cast<int>(a.committed.size()) > pending) {
        for (const PgEmuCopy& c : a.committed.front()) {
            std::memset(c.dst, 0, 16);
            std::memcpy(c.dst, c.src, static_cast<size_t>(c.src_bytes));
        }
        a.committed.erase(a.committed.begin());
    }
}

// ldmatrix .x1/.x2/.x4 (count matrices), optionally transposed: lane l's row address is the row
// l % 8 of matrix l / 8.
inline void pg_emu_ldmatrix(unsigned* r, const void* row, int count, bool trans) {
    const unsigned tid = threadIdx.x, base = tid / 32 * 32, lane = tid % 32;
    pg_emu_warp_access(row, 8 * count);
    auto element = [&](int q, unsigned rr, unsigned c) {
        return static_cast<unsigned>(reinterpret_cast<const uint16_t*>(pg_emu_fibers->slots[base + 8 * q + rr])[c]);
    };
    for (int q = 0; q < count; ++q) {
        unsigned lo = trans ? element(q, 2 * (lane % 4), lane / 4) : element(q, lane / 4, 2 * (lane % 4));
        unsigned hi = trans ? element(q, 2 * (lane % 4) + 1, lane / 4) : element(q, lane / 4, 2 * (lane % 4) + 1);
        r[q] = lo | (hi << 16);
    }
    pg_emu_barrier();
}

// Dynamic shared memory (extern __shared__ on a GPU): the launch's size, poisoned (0xff bytes:
// bf16/f16 NaNs) before every block, so a kernel reading what it never stored sees garbage as on
// a GPU. A kernel that needs more than its launch passed is counted in pg_emu_smem_short (the
// emulator fails the run); it still gets memory, from a buffer as large as any GPU allows.
extern "C" {
long long pg_emu_smem_short = 0;
}
constexpr size_t kPgEmuMaxDynamicSmem = 256 * 1024;
alignas(128) inline unsigned char pg_emu_dynamic[kPgEmuMaxDynamicSmem];
inline size_t pg_emu_dynamic_bytes = 0;
inline void* pg_emu_dynamic_smem(size_t need) {
    if (need > pg_emu_dynamic_bytes && threadIdx.x == 0) ++pg_emu_smem_short;
    return pg_emu_dynamic;
}

inline void pg_emu_fiber_main(int t) {
    PgEmuFibers& f = *pg_emu_fibers;
    f.fn(f.args);
    f.done[static_cast<size_t>(t)] = 1;
}

// Runs fn(args) on a grid of gx x gy x gz blocks of `block` threads with `smem` bytes of dynamic
// shared memory.
extern "C" void pg_emu_launch(void (*fn)(void**), void** args, unsigned gx, unsigned gy, unsigned gz, unsigned block,
                              int concurrent, unsigned smem) {
    // 256 KiB per fiber: the generated kernels keep at most a few KiB of locals.
    constexpr size_t kStack = 256 * 1024;
    PgEmuFibers f;
    f.fn = fn;
    f.args = args;
    if (concurrent) {
        f.fibers.resize(block);
        f.done.resize(block);
        f.slots.resize(block);
        pg_emu_async.assign(block, {});
        for (unsigned t = 0; t < block; ++t) f.stacks.emplace_back(new char[kStack]);
    }
    pg_emu_fibers = &f;
    blockDim = {block, 1, 1};
    gridDim = {gx, gy, gz};
    for (unsigned z = 0; z < gz; ++z)
        for (unsigned y = 0; y < gy; ++y)
            for (unsigned x = 0; x < gx; ++x) {
                blockIdx = {x, y, z};
                pg_emu_dynamic_bytes = std::min<size_t>(smem, kPgEmuMaxDynamicSmem);
                std::memset(pg_emu_dynamic, 0xff, pg_emu_dynamic_bytes);
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
