// CPU emulation of GPU plans (see cuda_emulator.h).
#include "tests/cuda/cuda_emulator.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "codegen/cuda/cuda_expr.h"
#include "codegen/cuda/cuda_prelude.h"
#include "ops/gemm/shared_memory.h"

namespace pg::testing {
namespace {

namespace fs = std::filesystem;

using LaunchFn = void (*)(void (*)(void**), void**, unsigned, unsigned, unsigned, unsigned, int, unsigned);
using EntryFn = void (*)(void**);

// Grid-stride kernels run on at most this many blocks: enough to exercise the strides.
constexpr int64_t kMaxEmulatedBlocks = 2;

struct Buffer {
    std::unique_ptr<uint8_t, decltype(&std::free)> data{nullptr, &std::free};
    size_t bytes = 0;
};

Buffer make_buffer(size_t bytes) {
    // 64-byte aligned like the device arena, plus the tail padding narrow atomics may touch.
    size_t size = (bytes + 64 + 63) / 64 * 64;
    Buffer b;
    b.data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, size)));
    std::memset(b.data.get(), 0, size);
    b.bytes = bytes;
    return b;
}

// "thread x4 points=..; warp points=.." -> whether launch `i` synchronises its threads.
bool concurrent(const CudaKernelSource& k, size_t i) {
    std::string m = k.mapping;
    for (size_t n = 0; n < i; ++n) m = m.substr(m.find("; ") + 2);
    return !(m.rfind("thread", 0) == 0 || m.rfind("serial", 0) == 0);
}

struct HostModule {
    void* handle = nullptr;
    ~HostModule() {
        if (handle) dlclose(handle);
    }
};

// One translation unit with the prelude, every distinct kernel source and an
// `extern "C" void pg_emu_<entry>(void** a)` wrapper per entry point.
std::string translation_unit(const ExecPlan& plan) {
    const Graph& g = plan.graph;
    std::string tu(cuda_prelude());
    std::set<std::string> sources, entries;
    for (const PlanStep& k : plan.steps) {
        if (!k.cuda) continue;
        if (sources.insert(k.cuda->source).second) tu += "\n" + k.cuda->source;
        for (const CudaLaunch& l : k.cuda->launches) {
            if (!entries.insert(l.entry).second) continue;
            std::string args;
            for (size_t i = 0; i < k.buffers.size(); ++i)
                args += fmt::format("{}({}*)a[{}]", i ? ", " : "", cuda::memory_type(g[k.buffers[i]].dtype), i);
            if (k.cuda->workspace_bytes > 0) args += fmt::format(", (float*)a[{}]", k.buffers.size());
            tu += fmt::format("extern \"C\" void pg_emu_{}(void** a) {{ {}({}); }}\n", l.entry, l.entry, args);
        }
    }
    return tu;
}

// The global-sector hooks of a plan compiled with PG_EMU_GLOBAL_SECTORS (cuda_host_shim.h), or
// nothing when the plan was compiled without them.
class GlobalTrace {
public:
    GlobalTrace(void* module, bool on) {
        if (!on) return;
        begin_ = reinterpret_cast<void (*)(const uintptr_t*, int)>(dlsym(module, "pg_emu_global_begin"));
        end_ = reinterpret_cast<void (*)(long long*)>(dlsym(module, "pg_emu_global_end"));
        PG_ASSERT(begin_ && end_, "the emulated plan lacks the global-sector hooks");
    }
    // Traces the next launch of step k over its buffers.
    void begin(const PlanStep& k, const std::map<NodeId, Buffer>& buffers) {
        if (!begin_) return;
        std::vector<uintptr_t> ranges;
        for (NodeId id : k.buffers) {
            const Buffer& b = buffers.at(id);
            ranges.push_back(reinterpret_cast<uintptr_t>(b.data.get()));
            ranges.push_back(ranges.back() + b.bytes);
        }
        begin_(ranges.data(), static_cast<int>(k.buffers.size()));
    }
    void end(const std::string& kernel, EmulatedRun& run) {
        if (!end_) return;
        long long out[3];
        end_(out);
        run.global.push_back({kernel, out[0], out[1], out[2]});
    }

private:
    void (*begin_)(const uintptr_t*, int) = nullptr;
    void (*end_)(long long*) = nullptr;
};

}  // namespace

std::string host_compiler_missing() {
    static const std::string why = [] {
        int rc = std::system("c++ --version > /dev/null 2>&1");
        return rc == 0 ? std::string() : std::string("no host C++ compiler ('c++') on PATH");
    }();
    return why;
}

std::string sector_counting_missing() {
    static const std::string why = [] {
        int rc = std::system("clang++ --version > /dev/null 2>&1");
        return rc == 0 ? std::string() : std::string("no clang++ on PATH (global sector counting needs its coverage hooks)");
    }();
    return why;
}

EmulatedRun emulate_cuda(const Graph& graph, const Feeds& feeds, const Target& target, const EmulateOptions& options) {
    ExecPlan plan = compile_plan(graph, target);
    const Graph& g = plan.graph;

    static int counter = 0;
    fs::path dir = fs::temp_directory_path() / fmt::format("pgolf-emu-{}-{}", static_cast<long>(getpid()), counter++);
    fs::create_directories(dir);
    std::ofstream(dir / "plan.cpp") << translation_unit(plan);
    // Sector counting: clang calls a hook per plain load and store (inline-8bit-counters is the
    // coverage kind the hooks need alongside; its counters are unused).
    const char* compiler = options.global_sectors ? "clang++ -DPG_EMU_GLOBAL_SECTORS "
                                                    "-fsanitize-coverage=inline-8bit-counters,trace-loads,trace-stores"
                                                  : "c++";
    std::string cmd = fmt::format(
        "{} -std=c++20 -O1 -fPIC -shared -w -include {}/tests/cuda/cuda_host_shim.h -x c++ {} -o {} 2> {}", compiler,
        PG_SOURCE_DIR, (dir / "plan.cpp").string(), (dir / "plan.so").string(), (dir / "errors.txt").string());
    if (std::system(cmd.c_str()) != 0) {
        std::ifstream err(dir / "errors.txt");
        std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
        PG_UNREACHABLE("the host compiler rejected the generated CUDA ({}):\n{}", (dir / "plan.cpp").string(),
                       text.substr(0, 4000));
    }
    HostModule module;
    module.handle = dlopen((dir / "plan.so").c_str(), RTLD_NOW | RTLD_LOCAL);
    PG_ASSERT(module.handle != nullptr, "cannot load the emulated plan: {}", dlerror());
    auto launch = reinterpret_cast<LaunchFn>(dlsym(module.handle, "pg_emu_launch"));
    PG_ASSERT(launch != nullptr, "the emulated plan lacks pg_emu_launch");
    GlobalTrace trace(module.handle, options.global_sectors);

    // One host buffer per node that any kernel, output or update touches.
    std::map<NodeId, Buffer> buffers;
    auto buffer_of = [&](NodeId id) -> Buffer& {
        auto it = buffers.find(id);
        if (it != buffers.end()) return it->second;
        const Node& n = g[id];
        Buffer& b = buffers[id] = make_buffer(static_cast<size_t>(numel(n.shape)) * dtype_size(n.dtype));
        if (n.op == Op::Param || n.op == Op::Input || n.op == Op::Scalar) {
            auto f = feeds.find(n.name);
            PG_CHECK(f != feeds.end(), "no feed for leaf '{}'", n.name);
            PG_CHECK(f->second.bytes.size() == b.bytes, "feed '{}' has the wrong size", n.name);
            std::memcpy(b.data.get(), f->second.data(), b.bytes);
        }
        return b;
    };
    EmulatedRun run;
    for (const PlanStep& k : plan.steps) {
        std::vector<void*> args;
        for (NodeId id : k.buffers) args.push_back(buffer_of(id).data.get());
        if (!k.cuda) continue;  // updates (copies, zero fills) are read from their values below
        // A workspace of its own per step, filled with NaNs: a partial read before it is written shows.
        Buffer workspace = make_buffer(static_cast<size_t>(k.cuda->workspace_bytes));
        std::memset(workspace.data.get(), 0xff, workspace.bytes);
        if (k.cuda->workspace_bytes > 0) args.push_back(workspace.data.get());
        for (size_t i = 0; i < k.cuda->launches.size(); ++i) {
            const CudaLaunch& l = k.cuda->launches[i];
            auto fn = reinterpret_cast<EntryFn>(dlsym(module.handle, ("pg_emu_" + l.entry).c_str()));
            PG_ASSERT(fn != nullptr, "the emulated plan lacks {}", l.entry);
            std::array<int64_t, 3> grid = l.grid;
            bool templated = k.kernel_kind == KernelKind::Gemm || k.kernel_kind == KernelKind::Attention ||
                             k.kernel_kind == KernelKind::LinearCe;
            if (!templated) grid[0] = std::min(grid[0], kMaxEmulatedBlocks);  // templates cover their grid
            PG_ASSERT(l.smem <= gemm::shared_memory_optin_bytes(target.arch), "{} asks for {} B of dynamic shared memory",
                      l.entry, l.smem);
            trace.begin(k, buffers);
            launch(fn, args.data(), static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
                   static_cast<unsigned>(grid[2]), static_cast<unsigned>(l.block), concurrent(*k.cuda, i),
                   static_cast<unsigned>(l.smem));
            trace.end(k.name, run);
            ++run.launches;
        }
        ++run.kernels;
    }
    run.smem_phases = *static_cast<long long*>(dlsym(module.handle, "pg_emu_smem_phases"));
    run.smem_wavefronts = *static_cast<long long*>(dlsym(module.handle, "pg_emu_smem_wavefronts"));
    const long long short_smem = *static_cast<long long*>(dlsym(module.handle, "pg_emu_smem_short"));
    PG_ASSERT(short_smem == 0, "{} blocks used more dynamic shared memory than their launch passed", short_smem);
    auto value_of = [&](NodeId id) {
        const Node& n = g[id];
        HostTensor t(n.dtype, n.shape);
        std::memcpy(t.data(), buffer_of(id).data.get(), t.bytes.size());
        return t;
    };
    for (const Output& o : g.outputs()) run.values.push_back(value_of(o.id));
    for (const StateUpdate& u : g.updates()) {
        if (!is_zero_fill(g, u.value)) {
            run.values.push_back(value_of(u.value));
            continue;
        }
        const Node& n = g[u.state];
        run.values.emplace_back(n.dtype, n.shape);  // zero-filled
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return run;
}

}  // namespace pg::testing
