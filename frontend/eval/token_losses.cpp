// The per-target loss TSV (see token_losses.h).
#include "frontend/eval/token_losses.h"

#include <fmt/format.h>

#include <cmath>

#include "base/atomic_file.h"
#include "base/error.h"

namespace pg::eval {

void write_token_losses(const std::filesystem::path& path, std::span<const float> losses,
                        std::span<const uint16_t> stream, const ByteLuts& luts) {
    PG_ASSERT(losses.size() == stream.size(), "{} losses for a stream of {} tokens", losses.size(), stream.size());
    io::AtomicFile out(path, io::Durability::Atomic);
    std::string text = "position\ttoken\tloss_nats\tbytes\n";
    for (size_t t = 1; t < losses.size(); ++t) {
        if (std::isnan(losses[t])) continue;
        // 9 significant digits round-trip a float exactly.
        fmt::format_to(std::back_inserter(text), "{}\t{}\t{:.9g}\t{}\n", t, stream[t], losses[t],
                       sum_target_bytes(stream, luts, static_cast<int64_t>(t), static_cast<int64_t>(t) + 1));
        if (text.size() > (1u << 20)) {
            out.write(text);
            text.clear();
        }
    }
    out.write(text);
    out.commit();
}

}  // namespace pg::eval
