// The ORC-based CPU compiler (see cpu_jit.h). The only runtime translation unit with heavy LLVM
// headers: target setup, the O3 pipeline, object emission and the LLJIT.
#include "runtime/cpu_jit.h"

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>

#include <math.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_set>

#include "base/dump.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "codegen/kernel_key.h"
#include "codegen/llvm/llvm_renderer.h"
#include "runtime/kernel_cache.h"

namespace pg {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void init_llvm() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
    });
}

template <class T>
T check_llvm(llvm::Expected<T> v, std::string_view what) {
    if (!v) PG_UNREACHABLE("{}: {}", what, llvm::toString(v.takeError()));
    return std::move(*v);
}

void check_llvm(llvm::Error err, std::string_view what) {
    if (err) PG_UNREACHABLE("{}: {}", what, llvm::toString(std::move(err)));
}

struct Target {
    std::string triple, cpu, features;
};

Target resolve_target(const CpuCompileOptions& o) {
    Target t{llvm::sys::getProcessTriple(), o.cpu.empty() ? llvm::sys::getHostCPUName().str() : o.cpu, o.features};
    if (o.cpu.empty() && o.features.empty()) {
        // Every feature the host reports, sorted so that the kernel key is stable.
        llvm::StringMap<bool> host;
        llvm::sys::getHostCPUFeatures(host);
        std::vector<std::string> list;
        for (const auto& f : host) list.push_back((f.second ? "+" : "-") + f.first().str());
        std::sort(list.begin(), list.end());
        for (const std::string& f : list) t.features += (t.features.empty() ? "" : ",") + f;
    }
    return t;
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const Target& t, int opt_level) {
    std::string err;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, err);
    PG_ASSERT(target != nullptr, "no LLVM target for {}: {}", t.triple, err);
    // Default TargetOptions: IEEE semantics, FMA contraction only where the IR allows it (never:
    // the reference rounds every op), so results match the interpreter bit for bit where libm does.
    llvm::TargetOptions to;
    auto level = opt_level >= 3 ? llvm::CodeGenOpt::Aggressive
                 : opt_level == 0 ? llvm::CodeGenOpt::None
                                  : llvm::CodeGenOpt::Default;
    // PIC + small code model: RuntimeDyld places sections near each other and routes calls into
    // libm through stubs and the GOT.
    std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(t.triple, t.cpu, t.features, to,
                                                                        llvm::Reloc::PIC_, llvm::CodeModel::Small, level));
    PG_ASSERT(tm != nullptr, "cannot create an LLVM target machine for {} {}", t.triple, t.cpu);
    return tm;
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm, int opt_level) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = opt_level >= 2;
    pto.SLPVectorization = opt_level >= 2;
    pto.LoopInterleaving = opt_level >= 2;
    pto.LoopUnrolling = opt_level >= 2;
    llvm::PassBuilder pb(&tm, pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm;
    switch (opt_level) {
        case 0: mpm = pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0); break;
        case 1: mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O1); break;
        case 2: mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2); break;
        default: mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3); break;
    }
    mpm.run(m, mam);
}

std::string emit_object(llvm::Module& m, llvm::TargetMachine& tm) {
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    PG_ASSERT(!tm.addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile), "LLVM cannot emit object files for {}",
              tm.getTargetTriple().str());
    pm.run(m);
    return std::string(buf.begin(), buf.end());
}

// Libcalls that kernels can contain. Transcendentals are rendered inline (codegen/llvm/llvm_math),
// so today only loop idiom recognition's memset/memcpy/memmove occur; the libm functions stay bound
// as a safety net, because an LLVM pass that re-forms a libm call would otherwise fail to link.
llvm::orc::SymbolMap libcall_symbols(llvm::orc::LLJIT& jit) {
    using F1 = float (*)(float);
    using F2 = float (*)(float, float);
    llvm::orc::SymbolMap map;
    auto bind = [&](const char* name, auto* fn) {
        map[jit.mangleAndIntern(name)] =
            llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(fn), llvm::JITSymbolFlags::Exported);
    };
    bind("expf", static_cast<F1>(&::expf));
    bind("exp2f", static_cast<F1>(&::exp2f));
    bind("exp10f", static_cast<F1>(&::exp10f));
    bind("logf", static_cast<F1>(&::logf));
    bind("log2f", static_cast<F1>(&::log2f));
    bind("log10f", static_cast<F1>(&::log10f));
    bind("sinf", static_cast<F1>(&::sinf));
    bind("cosf", static_cast<F1>(&::cosf));
    bind("tanhf", static_cast<F1>(&::tanhf));
    bind("sqrtf", static_cast<F1>(&::sqrtf));
    bind("powf", static_cast<F2>(&::powf));
    bind("fmaxf", static_cast<F2>(&::fmaxf));
    bind("fminf", static_cast<F2>(&::fminf));
    bind("sincosf", static_cast<void (*)(float, float*, float*)>(&::sincosf));
    bind("memset", static_cast<void* (*)(void*, int, size_t)>(&::memset));
    bind("memcpy", static_cast<void* (*)(void*, const void*, size_t)>(&::memcpy));
    bind("memmove", static_cast<void* (*)(void*, const void*, size_t)>(&::memmove));
    return map;
}

struct KernelObject {
    std::shared_ptr<const std::string> object;
    bool cache_hit = false;
    double seconds = 0;
};

// Render, optimise and emit one kernel, or take it from the cache.
KernelObject compile_kernel(const kir::Kernel& k, const Target& target, const std::string& target_str,
                            const CpuCompileOptions& options) {
    auto t0 = Clock::now();
    kir::verify(k);
    KernelKey key = make_kernel_key(kir::to_string(k), "llvm", target_str,
                                    fmt::format("O{};pic;small", options.opt_level), "", "LLVM " LLVM_VERSION_STRING);
    std::string digest = key.digest();
    KernelCache& cache = KernelCache::global();
    // Dumps need the optimised IR, which a cached object does not have: PG_DUMP_DIR compiles.
    bool dumping = !dump_dir().empty();
    if (options.use_cache && !dumping)
        if (CacheLookup hit = cache.get(digest)) return {hit.binary, true, seconds_since(t0)};

    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = render_llvm(k, ctx);
    std::unique_ptr<llvm::TargetMachine> tm = make_target_machine(target, options.opt_level);
    m->setTargetTriple(target.triple);
    m->setDataLayout(tm->createDataLayout());
    for (llvm::Function& f : *m) {
        if (f.isDeclaration()) continue;
        f.addFnAttr("target-cpu", target.cpu);
        if (!target.features.empty()) f.addFnAttr("target-features", target.features);
    }
    optimize(*m, *tm, options.opt_level);
    dump_llvm_kernel(k, m.get());
    auto object = std::make_shared<const std::string>(emit_object(*m, *tm));
    if (options.use_cache) cache.put(digest, *object);
    return {object, false, seconds_since(t0)};
}

}  // namespace

struct CpuProgram::Jit {
    std::unique_ptr<llvm::orc::LLJIT> lljit;
};

CpuProgram::CpuProgram() = default;
CpuProgram::~CpuProgram() = default;

std::string CpuProgram::target_string(const CpuCompileOptions& options) {
    init_llvm();
    Target t = resolve_target(options);
    return fmt::format("{};{};{}", t.triple, t.cpu, t.features);
}

std::unique_ptr<CpuProgram> CpuProgram::compile(const std::vector<kir::Kernel>& kernels,
                                                const CpuCompileOptions& options) {
    PG_ASSERT(options.opt_level >= 0 && options.opt_level <= 3, "opt_level {} is not 0..3", options.opt_level);
    auto t0 = Clock::now();
    init_llvm();
    std::unordered_set<std::string> names;
    for (const kir::Kernel& k : kernels)
        PG_ASSERT(names.insert(k.name).second, "two kernels of one program are named {}", k.name);

    Target target = resolve_target(options);
    std::string target_str = fmt::format("{};{};{}", target.triple, target.cpu, target.features);
    std::vector<KernelObject> objects(kernels.size());
    std::vector<std::function<void()>> tasks;
    tasks.reserve(kernels.size());
    for (size_t i = 0; i < kernels.size(); ++i)
        tasks.push_back([&, i] { objects[i] = compile_kernel(kernels[i], target, target_str, options); });
    ThreadPool::global().run_all(tasks);

    std::unique_ptr<CpuProgram> p(new CpuProgram());
    CpuCompileStats& st = p->stats_;
    st.kernels = static_cast<int>(kernels.size());
    for (size_t i = 0; i < kernels.size(); ++i) {
        (objects[i].cache_hit ? st.cache_hits : st.compiled)++;
        if (objects[i].seconds > st.slowest_seconds) {
            st.slowest_seconds = objects[i].seconds;
            st.slowest_kernel = kernels[i].name;
        }
    }

    auto t_link = Clock::now();
    p->jit_ = std::make_unique<Jit>();
    p->jit_->lljit = check_llvm(llvm::orc::LLJITBuilder().create(), "creating the ORC LLJIT");
    llvm::orc::LLJIT& jit = *p->jit_->lljit;
    // Kernels may call memset/memcpy (and, defensively, libm). These libcalls are bound
    // explicitly, which also works in a statically linked binary; anything else is looked up in
    // the process.
    check_llvm(jit.getMainJITDylib().define(llvm::orc::absoluteSymbols(libcall_symbols(jit))),
               "binding libm symbols in the JIT");
    jit.getMainJITDylib().addGenerator(check_llvm(
        llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(jit.getDataLayout().getGlobalPrefix()),
        "exposing process symbols to the JIT"));
    for (size_t i = 0; i < kernels.size(); ++i)
        check_llvm(jit.addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(*objects[i].object, kernels[i].name)),
                   fmt::format("adding the object of kernel {} to the JIT", kernels[i].name));
    // One lookup for all kernels links every object in one go.
    llvm::orc::SymbolLookupSet lookup;
    std::vector<llvm::orc::SymbolStringPtr> symbols;
    for (const kir::Kernel& k : kernels) {
        symbols.push_back(jit.mangleAndIntern(k.name));
        lookup.add(symbols.back());
    }
    llvm::orc::SymbolMap found = check_llvm(
        jit.getExecutionSession().lookup(llvm::orc::makeJITDylibSearchOrder(&jit.getMainJITDylib()), lookup),
        "linking the compiled kernels");
    for (size_t i = 0; i < symbols.size(); ++i) {
        auto it = found.find(symbols[i]);
        PG_ASSERT(it != found.end(), "the JIT did not define kernel {}", kernels[i].name);
        p->fns_.push_back(reinterpret_cast<CpuKernelFn>(static_cast<uintptr_t>(it->second.getAddress())));
    }
    st.link_seconds = seconds_since(t_link);
    st.seconds = seconds_since(t0);
    return p;
}

CpuKernelFn CpuProgram::fn(size_t i) const {
    PG_ASSERT(i < fns_.size(), "kernel index {} out of range ({} kernels)", i, fns_.size());
    return fns_[i];
}

std::string to_string(const CpuCompileStats& s) {
    return fmt::format("cpu compile: {} kernels, {} cache hits, {} compiled in {:.3f} s (link {:.3f} s, slowest {} "
                       "{:.3f} s)",
                       s.kernels, s.cache_hits, s.compiled, s.seconds, s.link_seconds,
                       s.slowest_kernel.empty() ? "-" : s.slowest_kernel, s.slowest_seconds);
}

}  // namespace pg
