// `pgolf export --model FILE --format safetensors|int8 --out FILE`: writes a model's weights with
// the baseline's state_dict names for PyTorch (safetensors), or as the int8+zstd artifact.
#include <fmt/format.h>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/export/artifact.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "frontend/export/quantize.h"
#include "frontend/export/safetensors.h"

namespace pg::cli {
namespace {

int run_export(std::vector<std::string> args) {
    auto opts = parse_options(args, {"model", "format", "out"}, "export");
    PG_CHECK(opts.count("model") && opts.count("out"),
             "pgolf export needs --model FILE and --out FILE (and --format safetensors|int8)");
    std::string format = opts.count("format") ? opts["format"] : "safetensors";
    io::TensorMap weights = io::model_params(io::load_model_weights(opts["model"]));
    if (format == "safetensors") {
        io::write_safetensors(opts["out"], weights, {{"format", "pt"}, {"source", opts["model"]}});
        fmt::print("wrote {} tensors to {} (safetensors)\n", weights.size(), opts["out"]);
    } else if (format == "int8") {
        io::ArtifactInfo info = io::save_artifact(opts["out"], io::quantize_int8(weights));
        fmt::print("wrote {} (int8+zstd artifact, {} bytes)\n", opts["out"], info.compressed_bytes);
    } else {
        throw Error(fmt::format("pgolf export: unknown --format '{}' (use safetensors or int8)", format));
    }
    return 0;
}

PG_COMMAND({.name = "export",
            .summary = "write a model's weights as safetensors (for PyTorch) or as the int8+zstd artifact",
            .usage = "pgolf export --model FILE --out FILE [--format safetensors|int8]\n\n"
                     "FILE: a checkpoint, safetensors file or artifact. safetensors keeps the baseline's\n"
                     "state_dict names (load with safetensors.torch.load_file); optimizer state is dropped.",
            .run = run_export});

}  // namespace
}  // namespace pg::cli
