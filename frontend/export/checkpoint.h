// Full-precision training checkpoints: every parameter and optimizer-state tensor by name, plus the
// metadata needed to resume bit-exactly (step, elapsed training time, config, data loader
// position, RNG state). Stored as a safetensors file whose "__metadata__" holds the string map, so
// PyTorch can read the weights directly (`safetensors.torch.load_file("final_model.ckpt")`).
// Written atomically; read back bit-exactly. Every checkpoint carries a digest of its content
// (every tensor's name, dtype, shape and bytes, and every metadata entry), verified on load, so
// that a checkpoint damaged on disk is refused instead of resumed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/export/safetensors.h"

namespace pg {
struct ParamSpec;
}

namespace pg::io {

// The file name the trainer writes into the run directory.
inline constexpr std::string_view kCheckpointFileName = "final_model.ckpt";

// Conventional metadata keys (the trainer may add others; any key works with the accessors).
inline constexpr std::string_view kStepKey = "step";                       // optimizer steps taken
inline constexpr std::string_view kTrainElapsedMsKey = "train_elapsed_ms";  // training wallclock, ms
inline constexpr std::string_view kConfigPrefix = "config.";  // config.NUM_LAYERS = "9", ...
inline constexpr std::string_view kLoaderPrefix = "loader.";  // data loader position (integers)
inline constexpr std::string_view kRngPrefix = "rng.";        // RNG state words (unsigned integers)
// Written by save_checkpoint and removed again by load_checkpoint; user metadata may not use them.
inline constexpr std::string_view kFormatKey = "pgolf.format";
inline constexpr std::string_view kFormatValue = "checkpoint-v1";
// The content digest; checkpoints written before it existed load unverified.
inline constexpr std::string_view kDigestKey = "pgolf.digest";

struct Checkpoint {
    TensorMap tensors;  // parameters and optimizer state ("<param>.exp_avg", ...) by name
    MetaMap meta;       // every value a string; use the typed accessors below
    std::string source; // the file it was loaded from, for error messages ("" when built in memory)

    bool has(std::string_view key) const { return meta.contains(std::string(key)); }
    void set(std::string_view key, std::string value) { meta[std::string(key)] = std::move(value); }
    void set_int(std::string_view key, int64_t value);
    void set_uint(std::string_view key, uint64_t value);
    void set_double(std::string_view key, double value);  // shortest text that reads back bit-exactly
    void set_ints(std::string_view key, const std::vector<int64_t>& values);  // "1,2,3"

    // Each throws pg::Error naming the checkpoint and the key when it is absent or malformed.
    const std::string& get(std::string_view key) const;
    int64_t get_int(std::string_view key) const;
    uint64_t get_uint(std::string_view key) const;
    double get_double(std::string_view key) const;
    std::vector<int64_t> get_ints(std::string_view key) const;

    // config.<NAME> entries, without the prefix.
    void set_config(const std::map<std::string, std::string>& config);
    std::map<std::string, std::string> config() const;
};

// Writes the checkpoint atomically. Throws pg::Error naming the path for a metadata key that is
// reserved (kFormatKey) or any problem writing the file.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

// Reads a checkpoint written by save_checkpoint. Throws pg::Error naming the file when it is
// missing, truncated or corrupt (its digest does not match its content), or is a safetensors file
// that is not a pgolf checkpoint.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// The content digest save_checkpoint records (SHA-256 hex over the metadata entries and each
// tensor's name, dtype, shape and xxHash64 of its bytes).
std::string checkpoint_digest(const TensorMap& tensors, const MetaMap& meta);

// True for optimizer-state tensor names ("<param>.exp_avg", "<param>.exp_avg_sq",
// "<param>.momentum_buffer"), which are never exported.
bool is_optimizer_state(std::string_view name);

// The model parameters only (optimizer state removed).
TensorMap model_params(const TensorMap& tensors);

// Checks that `tensors` holds exactly the parameters in `specs` (and their optimizer state too
// when include_state) with the right dtypes and shapes. Throws pg::Error naming `source` and
// listing every missing, unexpected or mismatched tensor, e.g. when a checkpoint is resumed
// with a different model configuration.
void check_tensors_match(const TensorMap& tensors, const std::vector<ParamSpec>& specs, std::string_view source,
                         bool include_state);

}  // namespace pg::io
