// KernelKey: everything that changes a compiled kernel's binary. Its digest names the binary in
// the kernel cache, so a key that forgot an input would hand out stale binaries: when a new
// input starts to affect code generation, add it here (and bump kKernelKeyFormat if the layout
// of keys or cache entries changes).
#pragma once
#include <string>

namespace pg {

// Version of the key layout and of the cache entry format; bump to invalidate every cached binary.
inline constexpr int kKernelKeyFormat = 1;

struct KernelKey {
    std::string kir_text;             // kir::to_string of the kernel (includes its name)
    std::string renderer;             // "llvm", "cuda", ...
    std::string target;               // triple + CPU + features, or the GPU arch
    std::string options;              // compiler options + codegen-affecting knobs
    std::string prelude_digest;       // digest of an embedded prelude ("" when there is none)
    std::string compiler_version;     // "LLVM 14.0.6", NVRTC version, ...
    std::string codegen_fingerprint;  // hash of the codegen sources (PG_CODEGEN_FINGERPRINT)
    int format_version = kKernelKeyFormat;

    // SHA-256 hex over every field, each length-prefixed so that no two keys collide by
    // shifting text between fields.
    std::string digest() const;
};

// A key with the build's codegen fingerprint and format version, and with
// env::codegen_digest_input() (every knob that affects codegen) appended to `options`.
KernelKey make_kernel_key(std::string kir_text, std::string renderer, std::string target, std::string options,
                          std::string prelude_digest, std::string compiler_version);

}  // namespace pg
