// Shared-memory limits per architecture (see shared_memory.h).
#include "ops/gemm/shared_memory.h"

#include <regex>

#include "base/error.h"

namespace pg::gemm {

int shared_memory_optin_bytes(const std::string& arch) {
    // CUDA C++ Programming Guide, "Technical Specifications per Compute Capability", maximum
    // shared memory per thread block (opt-in): 8.0 and 8.7: 163 KB; 8.6 and 8.9: 99 KB; 9.0 and
    // 10.0: 227 KB; 12.0: 99 KB (KB = 1024 bytes).
    std::smatch m;
    static const std::regex arch_re("sm_(\\d+)[af]?");
    if (!std::regex_match(arch, m, arch_re)) return kStaticSharedBytes;
    switch (std::stoi(m[1].str())) {
        case 80:
        case 87: return 163 * 1024;
        case 86:
        case 89:
        case 120: return 99 * 1024;
        case 90:
        case 100: return 227 * 1024;
        default: return kStaticSharedBytes;
    }
}

void check_shared_memory(const GemmConfig& c, const std::string& arch) {
    const int need = c.shared_bytes(), limit = shared_memory_optin_bytes(arch);
    PG_CHECK(need <= limit,
             "GEMM configuration '{}' needs {} bytes of shared memory per block, more than {} allows ({} bytes, "
             "opt-in); use fewer stages or smaller tiles (a tuning database made on another GPU: re-run pgolf tune)",
             c.to_string(), need, arch, limit);
}

}  // namespace pg::gemm
