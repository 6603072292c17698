// Batched LoRA adapters (see lora_adapter.h).
#include "frontend/train/lora_adapter.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>

#include "base/error.h"
#include "frontend/train/adapter_step.h"

namespace pg {
namespace {

// The suffix of a block's adapter site per target ("head" is tok_emb.weight itself; "mlp" is the
// MLP as a whole, d -> d added to its output, as PR #1530).
const std::map<std::string, std::string>& target_suffixes() {
    static const std::map<std::string, std::string> m = {{"q", ".attn.c_q.weight"},  {"k", ".attn.c_k.weight"},
                                                         {"v", ".attn.c_v.weight"},  {"o", ".attn.proj.weight"},
                                                         {"mlp", ".mlp"}, {"head", ""}};
    return m;
}

}  // namespace

void check_lora_targets(const std::vector<std::string>& targets) {
    PG_CHECK(!targets.empty(), "LORA_TTT_TARGETS is empty; choose from q, k, v, o, mlp, head");
    for (const std::string& t : targets)
        PG_CHECK(target_suffixes().contains(t),
                 "LORA_TTT_TARGETS: unknown target '{}'; the targets are q, k, v, o, mlp, head", t);
}

bool lora_targets_site(const std::vector<std::string>& targets, const std::string& site) {
    for (const std::string& t : targets) {
        const std::string& suffix = target_suffixes().at(t);
        if (suffix.empty() ? site == "tok_emb.weight" : site.starts_with("blocks.") && site.ends_with(suffix))
            return true;
    }
    return false;
}

nn::LinearAdapter make_lora_adapter(const LoraSpec& spec) {
    PG_CHECK(spec.rank >= 1, "LORA_TTT_RANK={} must be at least 1 (a rank-0 adapter cannot learn anything)",
             spec.rank);
    auto uses = std::make_shared<std::map<std::string, int>>();
    return [spec, uses](ParamSet& ps, const std::string& site, const Tensor& x, int64_t out) -> Tensor {
        if (!lora_targets_site(spec.targets, site)) return {};
        const int64_t in = x.dim(1), tokens = x.dim(0), R = spec.rows;
        const int use = (*uses)[site]++;
        const std::string shape = fmt::format("{}.r{}x{}", use, spec.rank, R);
        Tensor a = ps.add(fmt::format("{}.lora_a.{}", site, shape), {R, in, spec.rank},
                          Init::uniform(1.0 / std::sqrt(static_cast<double>(in))), kAdapterGroup);
        Tensor b =
            ps.add(fmt::format("{}.lora_b.{}", site, shape), {R, spec.rank, out}, Init::zeros(), kAdapterGroup);
        Tensor h = matmul(x.reshape({R, tokens / R, in}), a.cast(x.dtype()));
        return (matmul(h, b.cast(x.dtype())) * spec.scale).reshape({tokens, out});
    };
}

}  // namespace pg
