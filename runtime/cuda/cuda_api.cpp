// Library search, symbol loading and error reporting for the CUDA family (see cuda_api.h).
//
// Search order for NVRTC and NCCL: $CUDA_HOME, $CUDA_PATH and /usr/local/cuda (lib64, lib), then
// the bare soname (LD_LIBRARY_PATH and the ld.so cache), then pip's nvidia-* wheels in the usual
// site-packages directories. The driver is only ever the system's libcuda.so.1: the toolkit's
// stub libcuda (lib64/stubs) must never be loaded.
#include "runtime/cuda/cuda_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "base/dump.h"
#include "base/error.h"
#include "runtime/cuda/cuda_compat.h"
#include "runtime/kernel_cache.h"

#define PG_STRINGIFY2(x) #x
#define PG_STRINGIFY(x) PG_STRINGIFY2(x)

namespace pg::cuda {
namespace {

namespace fs = std::filesystem;

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// Directories of pip's nvidia wheels (nvidia/<package>/lib) under every plausible site-packages.
std::vector<std::string> pip_library_dirs(const std::vector<std::string>& packages) {
    std::vector<std::string> roots;
    for (const char* prefix_env : {"VIRTUAL_ENV", "CONDA_PREFIX"})
        if (std::string p = env_or_empty(prefix_env); !p.empty()) roots.push_back(p + "/lib");
    if (std::string home = env_or_empty("HOME"); !home.empty()) roots.push_back(home + "/.local/lib");
    roots.push_back("/usr/local/lib");
    roots.push_back("/usr/lib");
    std::vector<std::string> dirs;
    std::error_code ec;
    for (const std::string& root : roots) {
        if (!fs::is_directory(root, ec)) continue;
        for (const auto& py : fs::directory_iterator(root, ec)) {
            std::string name = py.path().filename().string();
            if (name.rfind("python3", 0) != 0) continue;
            for (const char* site : {"site-packages", "dist-packages"})
                for (const std::string& pkg : packages) {
                    fs::path d = py.path() / site / "nvidia" / pkg / "lib";
                    if (fs::is_directory(d, ec)) dirs.push_back(d.string());
                }
        }
    }
    return dirs;
}

struct Loaded {
    void* handle = nullptr;
    std::string path;
    std::string tried;  // for the error message
};

// Tries every directory with every soname, then the bare sonames, then the pip directories.
Loaded open_library(const std::vector<std::string>& sonames, const std::vector<std::string>& pip_packages) {
    std::vector<std::string> dirs;
    for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
        if (std::string root = env_or_empty(var); !root.empty()) {
            dirs.push_back(root + "/lib64");
            dirs.push_back(root + "/lib");
        }
    dirs.push_back("/usr/local/cuda/lib64");
    dirs.push_back("/usr/local/cuda/lib");
    Loaded out;
    auto attempt = [&](const std::string& path) {
        out.tried += (out.tried.empty() ? "" : ", ") + path;
        out.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (out.handle) out.path = path;
        return out.handle != nullptr;
    };
    std::error_code ec;
    for (const std::string& d : dirs)
        for (const std::string& so : sonames)
            if (fs::exists(d + "/" + so, ec) && attempt(d + "/" + so)) return out;
    for (const std::string& so : sonames)
        if (attempt(so)) return out;
    for (const std::string& d : pip_library_dirs(pip_packages))
        for (const std::string& so : sonames)
            if (fs::exists(d + "/" + so, ec) && attempt(d + "/" + so)) return out;
    return out;
}

void* symbol(void* handle, const char* name, const std::string& path, bool required) {
    void* s = dlsym(handle, name);
    PG_CHECK(s != nullptr || !required,
             "{} lacks {}: the library is older than the CUDA {}.{} headers pgolf was built with; update it (for "
             "libcuda.so.1: the NVIDIA driver)",
             path, name, CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10);
    return s;
}

DriverApi load_driver() {
    DriverApi t;
    void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    PG_CHECK(h != nullptr,
             "cannot load libcuda.so.1 ({}): no NVIDIA driver is installed on this machine. The CUDA backend "
             "needs a GPU and its driver; the CPU backend works without them",
             dlerror());
    t.path = "libcuda.so.1";
#define PG_LOAD_REQUIRED(name) \
    t.name = reinterpret_cast<decltype(t.name)>(symbol(h, PG_STRINGIFY(name), t.path, true));
#define PG_LOAD_OPTIONAL(name) \
    t.name = reinterpret_cast<decltype(t.name)>(symbol(h, PG_STRINGIFY(name), t.path, false));
    PG_CU_REQUIRED(PG_LOAD_REQUIRED)
    PG_CU_OPTIONAL(PG_LOAD_OPTIONAL)
#undef PG_LOAD_REQUIRED
#undef PG_LOAD_OPTIONAL
    CUresult r = t.cuInit(0);
    PG_CHECK(r != CUDA_ERROR_STUB_LIBRARY,
             "libcuda.so.1 is the CUDA toolkit's stub, not a driver: install the NVIDIA driver (and take "
             "lib64/stubs off LD_LIBRARY_PATH)");
    PG_CHECK(r != CUDA_ERROR_NO_DEVICE, "the NVIDIA driver found no CUDA device on this machine");
    if (r != CUDA_SUCCESS) {
        const char* name = nullptr;
        t.cuGetErrorName(r, &name);
        throw Error(fmt::format("cuInit failed ({}): the NVIDIA driver is not usable; check nvidia-smi",
                                name ? name : std::to_string(static_cast<int>(r))));
    }
    t.cuDriverGetVersion(&t.version);
    return t;
}

// The driver's CUDA version, or 0 where there is no usable driver (compiling without a GPU).
int driver_version_or_zero() {
    try {
        return driver().version;
    } catch (const Error&) {
        return 0;
    }
}

// NVRTC sonames newest first, without those whose cubins the driver could not load
// (cuda_compat.h); the unversioned name last, checked after loading.
std::vector<std::string> nvrtc_sonames(int driver_version) {
    int max_major = max_nvrtc_major(driver_version);
    std::vector<std::string> names;
    for (int major : {13, 12})
        if (max_major == 0 || major <= max_major) names.push_back(fmt::format("libnvrtc.so.{}", major));
    names.push_back("libnvrtc.so");
    return names;
}

NvrtcApi load_nvrtc() {
    Loaded l = open_library(nvrtc_sonames(driver_version_or_zero()), {"cuda_nvrtc", "cu13"});
    PG_CHECK(l.handle != nullptr,
             "cannot find NVRTC (tried {}): install the CUDA toolkit (12 or 13, not newer than the driver's CUDA "
             "version) and set CUDA_HOME, or `pip install nvidia-cuda-nvrtc`",
             l.tried);
    NvrtcApi t;
    t.path = l.path;
#define PG_LOAD(name) t.name = reinterpret_cast<decltype(t.name)>(symbol(l.handle, PG_STRINGIFY(name), t.path, true));
    PG_NVRTC_FUNCTIONS(PG_LOAD)
#undef PG_LOAD
    t.nvrtcVersion(&t.major, &t.minor);
    return t;
}

NcclApi load_nccl() {
    Loaded l = open_library({"libnccl.so.2"}, {"nccl", "cu13"});
    PG_CHECK(l.handle != nullptr, "cannot find NCCL (tried {}): install libnccl2 or `pip install nvidia-nccl-cu13`",
             l.tried);
    NcclApi t;
    t.path = l.path;
#define PG_LOAD(name) t.name = reinterpret_cast<decltype(t.name)>(symbol(l.handle, PG_STRINGIFY(name), t.path, true));
    PG_NCCL_FUNCTIONS(PG_LOAD)
#undef PG_LOAD
    t.ncclGetVersion(&t.version);
    return t;
}

// A lazily loaded table: the first failure is remembered and rethrown, so every caller gets the
// same message and nothing is retried in a loop.
template <class T, T (*Load)()>
const T& cached() {
    static std::once_flag once;
    static T table;
    static std::string error;
    std::call_once(once, [] {
        try {
            table = Load();
        } catch (const Error& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw Error(error);
    return table;
}

}  // namespace

const DriverApi& driver() { return cached<DriverApi, load_driver>(); }
const NvrtcApi& nvrtc() { return cached<NvrtcApi, load_nvrtc>(); }
const NcclApi& nccl() { return cached<NcclApi, load_nccl>(); }

void throw_cu(CUresult r, const char* call, const char* file, int line) {
    const char *name = nullptr, *text = nullptr;
    driver().cuGetErrorName(r, &name);
    driver().cuGetErrorString(r, &text);
    std::string hint = r == CUDA_ERROR_OUT_OF_MEMORY ? " (reduce the batch size or the model)" : "";
    throw Error(fmt::format("CUDA call {} failed: {} ({}){} at {}:{}", call, name ? name : "?", text ? text : "?", hint,
                            file, line));
}

void throw_nvrtc(nvrtcResult r, const char* call, const char* file, int line) {
    throw InternalError(fmt::format("NVRTC call {} failed: {} at {}:{}", call, nvrtc().nvrtcGetErrorString(r), file, line));
}

void throw_nccl(ncclResult_t r, const char* call, const char* file, int line) {
    throw Error(fmt::format("NCCL call {} failed: {} at {}:{}", call, nccl().ncclGetErrorString(r), file, line));
}

std::string nvrtc_log(nvrtcProgram prog) {
    size_t size = 0;
    PG_NVRTC(nvrtcGetProgramLogSize, prog, &size);
    std::string log(size, '\0');
    if (size) PG_NVRTC(nvrtcGetProgramLog, prog, log.data());
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    return log;
}

void throw_nvrtc_compile(nvrtcResult r, nvrtcProgram prog, const std::string& source, const std::string& label,
                         const char* file, int line) {
    std::string dir = dump_dir();
    if (dir.empty()) dir = (fs::temp_directory_path() / "pgolf-nvrtc").string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::string path = dir + "/" + label + ".cu";
    std::ofstream(path, std::ios::binary) << source;
    throw InternalError(fmt::format("NVRTC could not compile {} ({}) at {}:{}; source: {}\n{}", label,
                                    nvrtc().nvrtcGetErrorString(r), file, line, path, nvrtc_log(prog)));
}

}  // namespace pg::cuda
