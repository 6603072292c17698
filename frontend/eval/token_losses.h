// The per-target loss file of `pgolf eval --token-losses FILE`: one line per scored target in
// stream order, tab-separated, with a header line:
//     position  token  loss_nats  bytes
// position is the target's index in the validation stream, token its id, loss_nats the scored
// method's -ln p'(token) and bytes its byte count (spec 2.2). Anyone can sum it back to val_bpb
// (sum of loss / ln 2 over sum of bytes) or compare two methods target by target.
#pragma once
#include <filesystem>
#include <span>

#include "frontend/eval/byte_luts.h"

namespace pg::eval {

// losses[t] is target t's loss, NaN where t was not scored. Written atomically.
void write_token_losses(const std::filesystem::path& path, std::span<const float> losses,
                        std::span<const uint16_t> stream, const ByteLuts& luts);

}  // namespace pg::eval
