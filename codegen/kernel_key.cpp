// KernelKey digest and construction (see kernel_key.h).
#include "codegen/kernel_key.h"

#include <fmt/format.h>

#include "base/digest.h"
#include "base/env.h"

namespace pg {

// Defined in the build-time generated codegen_fingerprint.cpp (cmake/fingerprint.cmake).
const char* codegen_fingerprint();

std::string KernelKey::digest() const {
    std::string text;
    auto field = [&](std::string_view name, std::string_view value) {
        text += fmt::format("{}:{}:", name, value.size());
        text += value;
        text += '\n';
    };
    field("format", std::to_string(format_version));
    field("renderer", renderer);
    field("target", target);
    field("options", options);
    field("prelude", prelude_digest);
    field("compiler", compiler_version);
    field("codegen", codegen_fingerprint);
    field("kir", kir_text);
    return sha256_hex(text);
}

KernelKey make_kernel_key(std::string kir_text, std::string renderer, std::string target, std::string options,
                          std::string prelude_digest, std::string compiler_version) {
    KernelKey key;
    key.kir_text = std::move(kir_text);
    key.renderer = std::move(renderer);
    key.target = std::move(target);
    key.options = std::move(options) + ";" + env::codegen_digest_input();
    key.prelude_digest = std::move(prelude_digest);
    key.compiler_version = std::move(compiler_version);
    key.codegen_fingerprint = codegen_fingerprint();
    key.format_version = kKernelKeyFormat;
    return key;
}

}  // namespace pg
