// The NVRTC compiler: batching, caching and ptxas reports (see nvrtc_compiler.h).
//
// Cache entry layout (inside the kernel cache's own zstd/checksum envelope):
//   "PGCUBIN1\n" <entries>\n  then per entry "<name> <regs> <spill st> <spill ld> <stack> <smem>\n"
//   then "<cubin bytes>\n" and the cubin.
#include "runtime/cuda/nvrtc_compiler.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include "base/digest.h"
#include "base/dump.h"
#include "base/env.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "codegen/cuda/cuda_prelude.h"
#include "codegen/kernel_key.h"
#include "runtime/cuda/cuda_api.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/kernel_cache.h"

namespace pg {

PG_KNOB({.name = "PG_CUDA_ARCH", .kind = env::KnobKind::String, .default_value = "",
         .doc = "GPU architecture NVRTC compiles for, e.g. sm_90a or sm_80 (\"\" = the installed GPU's)"});

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr std::string_view kEnvelopeMagic = "PGCUBIN1\n";

// Kernels per step are grouped into at most 8 NVRTC programs: each program pays ~80 ms of fixed
// front-end and ptxas start-up (measured with NVRTC 13.0: 121 kernels compile in 11 s one by one,
// 5 s as 8 programs, on one core), and 8 programs still keep 2-8 cores busy despite uneven sizes.
constexpr int kBatches = 8;

struct Batch {
    std::vector<size_t> members;  // indices of distinct kernels
    std::string source;
    std::string label;            // "cuda_batch_<digest12>" for dumps and errors
    std::string digest;           // kernel-key digest
    std::shared_ptr<const std::string> cubin;
    std::vector<CudaEntryReport> entries;
    bool cache_hit = false;
    double seconds = 0;
};

std::string encode_envelope(const std::vector<CudaEntryReport>& entries, const std::string& cubin) {
    std::string out(kEnvelopeMagic);
    out += fmt::format("{}\n", entries.size());
    for (const CudaEntryReport& e : entries)
        out += fmt::format("{} {} {} {} {} {}\n", e.entry, e.registers, e.spill_stores, e.spill_loads, e.stack_bytes,
                           e.shared_bytes);
    out += fmt::format("{}\n", cubin.size());
    return out + cubin;
}

// False on any malformed entry (the caller recompiles).
bool decode_envelope(const std::string& data, std::vector<CudaEntryReport>& entries, std::string& cubin) {
    if (data.compare(0, kEnvelopeMagic.size(), kEnvelopeMagic) != 0) return false;
    std::istringstream in(data.substr(kEnvelopeMagic.size(), std::min<size_t>(data.size(), 1 << 20)));
    size_t n = 0;
    if (!(in >> n) || n > 100000) return false;
    entries.assign(n, {});
    for (CudaEntryReport& e : entries)
        if (!(in >> e.entry >> e.registers >> e.spill_stores >> e.spill_loads >> e.stack_bytes >> e.shared_bytes))
            return false;
    size_t size = 0;
    if (!(in >> size) || in.get() != '\n') return false;
    size_t header = kEnvelopeMagic.size() + static_cast<size_t>(in.tellg());
    if (header + size != data.size()) return false;
    cubin = data.substr(header);
    return true;
}

// Registers, spills, stack and shared memory per entry point from ptxas' verbose log.
std::vector<CudaEntryReport> parse_ptxas_log(const std::string& log) {
    static const std::regex entry_re(R"(Compiling entry function '([^']+)')");
    static const std::regex props_re(R"(Function properties for (\S+))");
    static const std::regex frame_re(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
    static const std::regex regs_re(R"(Used (\d+) registers)");
    static const std::regex smem_re(R"((\d+) bytes smem)");
    std::map<std::string, CudaEntryReport> by_name;
    std::vector<std::string> order;
    std::string current, props;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, entry_re)) {
            current = m[1];
            if (!by_name.count(current)) order.push_back(current);
            by_name[current].entry = current;
        } else if (std::regex_search(line, m, props_re)) {
            props = m[1];
        } else if (std::regex_search(line, m, frame_re)) {
            auto it = by_name.find(props);
            if (it == by_name.end()) continue;
            it->second.stack_bytes = std::stoi(m[1]);
            it->second.spill_stores = std::stoi(m[2]);
            it->second.spill_loads = std::stoi(m[3]);
        } else if (std::regex_search(line, m, regs_re) && !current.empty()) {
            by_name[current].registers = std::stoi(m[1]);
            if (std::regex_search(line, m, smem_re)) by_name[current].shared_bytes = std::stoi(m[1]);
        }
    }
    std::vector<CudaEntryReport> out;
    for (const std::string& n : order) out.push_back(by_name[n]);
    return out;
}

void compile_batch(Batch& b, const std::string& arch, const std::vector<std::string>& options) {
    auto t0 = Clock::now();
    const cuda::NvrtcApi& api = cuda::nvrtc();
    nvrtcProgram prog = nullptr;
    PG_NVRTC(nvrtcCreateProgram, &prog, b.source.c_str(), (b.label + ".cu").c_str(), 0, nullptr, nullptr);
    struct Guard {
        nvrtcProgram& p;
        ~Guard() { cuda::nvrtc().nvrtcDestroyProgram(&p); }
    } guard{prog};
    std::vector<const char*> opts;
    for (const std::string& o : options) opts.push_back(o.c_str());
    nvrtcResult r = api.nvrtcCompileProgram(prog, static_cast<int>(opts.size()), opts.data());
    if (r != NVRTC_SUCCESS) cuda::throw_nvrtc_compile(r, prog, b.source, b.label + "_" + arch, __FILE__, __LINE__);
    std::string log = cuda::nvrtc_log(prog);
    size_t size = 0;
    PG_NVRTC(nvrtcGetCUBINSize, prog, &size);
    std::string cubin(size, '\0');
    PG_NVRTC(nvrtcGetCUBIN, prog, cubin.data());
    b.entries = parse_ptxas_log(log);
    dump_file(b.label + "_" + arch + ".log", log);
    b.cubin = std::make_shared<const std::string>(std::move(cubin));
    b.seconds = seconds_since(t0);
}

}  // namespace

std::vector<std::string> CudaProgram::nvrtc_options(const std::string& arch) {
    // fmad off: generated kernels round every op as the reference does (the GEMM uses explicit
    // fmaf); ptxas -v: the register/spill report.
    return {"--gpu-architecture=" + arch, "--std=c++17", "--fmad=false", "--ptxas-options=-v"};
}

std::string CudaProgram::resolve_arch(const std::string& requested) {
    std::string arch = !requested.empty() ? requested : env::get("PG_CUDA_ARCH");
    if (arch.empty()) arch = CudaDevice::get().arch();
    static const std::regex arch_re(R"(sm_(\d+)([af]?))");
    std::smatch m;
    PG_CHECK(std::regex_match(arch, m, arch_re), "'{}' is not a GPU architecture name like sm_90a or sm_80", arch);
    int number = std::stoi(m[1]);
    PG_CHECK(number >= 80,
             "pgolf's CUDA kernels need sm_80 or newer (bf16 conversions and mma.sync); {} is an older GPU", arch);
    const cuda::NvrtcApi& api = cuda::nvrtc();
    int count = 0;
    PG_NVRTC(nvrtcGetNumSupportedArchs, &count);
    std::vector<int> supported(static_cast<size_t>(count));
    if (count) PG_NVRTC(nvrtcGetSupportedArchs, supported.data());
    std::string list;
    for (int s : supported) list += fmt::format("{}sm_{}", list.empty() ? "" : ", ", s);
    PG_CHECK(std::find(supported.begin(), supported.end(), number) != supported.end(),
             "NVRTC {}.{} cannot compile for {} (it supports {}); pass another --arch or install a matching CUDA toolkit",
             api.major, api.minor, arch, list);
    return arch;
}

std::unique_ptr<CudaProgram> CudaProgram::compile(const std::vector<CudaKernelSource>& kernels,
                                                  const CudaCompileOptions& options) {
    auto t0 = Clock::now();
    std::unique_ptr<CudaProgram> p(new CudaProgram());
    std::string arch = resolve_arch(options.arch);
    std::vector<std::string> opts = nvrtc_options(arch);
    std::string opts_text;
    for (const std::string& o : opts) opts_text += o + ";";
    const cuda::NvrtcApi& api = cuda::nvrtc();
    std::string compiler = fmt::format("NVRTC {}.{}", api.major, api.minor);

    // Distinct sources, and their batches by the first hex digit of their digest.
    std::map<std::string, size_t> distinct_of;
    std::vector<const CudaKernelSource*> distinct;
    std::vector<size_t> kernel_distinct;
    std::map<std::string, bool> names;
    for (const CudaKernelSource& k : kernels) {
        PG_ASSERT(names.emplace(k.name, true).second, "two CUDA kernels of one program are named {}", k.name);
        auto [it, fresh] = distinct_of.emplace(k.source, distinct.size());
        if (fresh) distinct.push_back(&k);
        kernel_distinct.push_back(it->second);
        dump_file(k.name + ".cu", std::string(cuda_prelude()) + "\n" + k.source);
    }
    std::map<int, std::vector<std::pair<std::string, size_t>>> buckets;
    for (size_t d = 0; d < distinct.size(); ++d) {
        std::string digest = sha256_hex(distinct[d]->source);
        buckets[std::stoi(digest.substr(0, 1), nullptr, 16) % kBatches].push_back({digest, d});
    }
    std::vector<Batch> batches;
    std::vector<size_t> distinct_batch(distinct.size());
    for (auto& [prefix, members] : buckets) {
        std::sort(members.begin(), members.end());
        Batch b;
        b.source = std::string(cuda_prelude());
        for (const auto& [digest, d] : members) {
            b.members.push_back(d);
            distinct_batch[d] = batches.size();
            b.source += "\n" + distinct[d]->source;
        }
        b.digest = make_kernel_key(b.source, "cuda", arch, opts_text, cuda_prelude_digest(), compiler).digest();
        b.label = "cuda_batch_" + b.digest.substr(0, 12);
        batches.push_back(std::move(b));
    }

    KernelCache& cache = KernelCache::global();
    std::vector<std::function<void()>> tasks;
    for (Batch& b : batches)
        tasks.push_back([&, bp = &b] {
            Batch& batch = *bp;
            if (options.use_cache) {
                if (CacheLookup hit = cache.get(batch.digest)) {
                    std::string cubin;
                    if (decode_envelope(*hit.binary, batch.entries, cubin)) {
                        batch.cubin = std::make_shared<const std::string>(std::move(cubin));
                        batch.cache_hit = true;
                        return;
                    }
                }
            }
            compile_batch(batch, arch, opts);
            if (options.use_cache) cache.put(batch.digest, encode_envelope(batch.entries, *batch.cubin));
        });
    ThreadPool::global().run_all(tasks);

    CudaCompileStats& st = p->stats_;
    st.arch = arch;
    st.kernels = static_cast<int>(kernels.size());
    st.distinct = static_cast<int>(distinct.size());
    st.batches = static_cast<int>(batches.size());
    for (const Batch& b : batches) {
        p->modules_.push_back(b.cubin);
        for (const CudaEntryReport& e : b.entries) {
            st.max_registers = std::max(st.max_registers, e.registers);
            st.spilling_entries += (e.spill_stores + e.spill_loads) > 0;
        }
        if (b.seconds > st.slowest_batch_seconds) {
            st.slowest_batch_seconds = b.seconds;
            st.slowest_batch_kernels = static_cast<int>(b.members.size());
        }
    }
    for (size_t i = 0; i < kernels.size(); ++i) {
        const Batch& b = batches[distinct_batch[kernel_distinct[i]]];
        p->module_of_.push_back(distinct_batch[kernel_distinct[i]]);
        CudaKernelReport r;
        r.name = kernels[i].name;
        r.batch = static_cast<int>(distinct_batch[kernel_distinct[i]]);
        r.cache_hit = b.cache_hit;
        st.cache_hits += b.cache_hit;
        for (const CudaLaunch& l : kernels[i].launches) {
            auto it = std::find_if(b.entries.begin(), b.entries.end(),
                                   [&](const CudaEntryReport& e) { return e.entry == l.entry; });
            PG_ASSERT(it != b.entries.end(), "ptxas reported nothing for entry {} of kernel {}", l.entry, r.name);
            r.entries.push_back(*it);
        }
        p->reports_.push_back(std::move(r));
    }
    st.seconds = seconds_since(t0);
    return p;
}

std::string to_string(const CudaCompileStats& s) {
    return fmt::format("cuda compile ({}): {} kernels ({} distinct) in {} NVRTC programs, {} from the cache, {:.2f} s "
                       "(slowest program {:.2f} s for {} kernels); max {} registers, {} entries spill",
                       s.arch, s.kernels, s.distinct, s.batches, s.cache_hits, s.seconds, s.slowest_batch_seconds,
                       s.slowest_batch_kernels, s.max_registers, s.spilling_entries);
}

}  // namespace pg
