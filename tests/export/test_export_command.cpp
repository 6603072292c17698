// `pgolf export` through the binary: the artifact it writes reads back as the in-process export of
// the same weights, --report prints the per-tensor table and the total against the cap, and every
// mistake (a corrupt artifact as input, an unknown scheme or compressor, weights whose shapes do
// not match the settings) exits non-zero with a message naming the culprit and leaves the output
// path as it was; --init exports the settings' initialised model (with --init-std its quantized
// matrices Gaussian) for sizing a preset before training.
#include <doctest/doctest.h>

#include <cmath>

#include "frontend/export/artifact.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "frontend/train/step_graphs.h"
#include "tests/export/export_test_util.h"
#include "tests/support/training_configs.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

// The tiny GPT with a 2048-token vocabulary, so that its embedding (131,072 elements) is quantized.
const std::map<std::string, std::string> kConfig = {{"VOCAB_SIZE", "2048"}, {"NUM_LAYERS", "2"},
                                                    {"MODEL_DIM", "64"},    {"NUM_HEADS", "4"},
                                                    {"NUM_KV_HEADS", "2"},  {"MLP_MULT", "2"}};

TensorMap tiny_weights() {
    GptConfig cfg = testing::tiny_gpt();
    cfg.vocab_size = 2048;
    return build_eval_graph(cfg, 1, 8).params->initialize(5);
}

CommandResult pgolf(const std::string& args) { return run_command(std::string(PG_BINARY) + " export " + args); }

// kConfig as environment assignments, for a command without a checkpoint.
std::string config_env() {
    std::string env;
    for (const auto& [k, v] : kConfig) env += k + "=" + v + " ";
    return env;
}

double rms(const HostTensor& t) {
    double ss = 0;
    for (int64_t i = 0; i < t.numel(); ++i) ss += t.get(i) * t.get(i);
    return std::sqrt(ss / static_cast<double>(t.numel()));
}

}  // namespace

TEST_CASE("export: pgolf export writes the artifact and reports its bytes against the cap") {
    TempDir dir;
    Checkpoint c;
    c.tensors = tiny_weights();
    c.set_config(kConfig);
    save_checkpoint(dir / "run.ckpt", c);
    const auto out = dir / "model.art";
    const CommandResult r = pgolf("--model " + (dir / "run.ckpt").string() + " --out " + out.string() +
                                  " --quant emb:int6@search --compressor xz-9e --report");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output.find("tok_emb.weight") != std::string::npos);
    CHECK(r.output.find("int6_per_row") != std::string::npos);
    CHECK(r.output.find("compressor: xz-9e") != std::string::npos);
    CHECK(r.output.find("within the 16000000-byte cap") != std::string::npos);
    ArtifactInfo info;
    const QuantizedModel back = load_artifact(out, &info);
    CHECK(info.compressor.name() == "xz-9e");
    CHECK(info.scheme == parse_quant_plan("emb:int6@search").canonical());
    const QuantizedModel expect = quantize_model(c.tensors, parse_quant_plan("emb:int6@search"));
    CHECK(encode_quantized(back) == encode_quantized(expect));
    CHECK(r.output.find("artifact: " + std::to_string(std::filesystem::file_size(out)) + " bytes") !=
          std::string::npos);
}

TEST_CASE("export: pgolf export mistakes exit non-zero, name the culprit and write nothing") {
    TempDir dir;
    Checkpoint c;
    c.tensors = tiny_weights();
    c.set_config(kConfig);
    const auto ckpt = dir / "run.ckpt";
    save_checkpoint(ckpt, c);
    const auto out = dir / "out.art";
    write_raw(out, "previous");
    auto fails = [&](const std::string& args, const std::string& expected) {
        const CommandResult r = pgolf(args + " --out " + out.string());
        CHECK_MESSAGE(r.status != 0, r.output);
        CHECK_MESSAGE(r.output.find(expected) != std::string::npos, r.output);
        CHECK(read_raw(out) == "previous");
    };
    fails("--model " + ckpt.string() + " --quant attn:int9", "QUANT entry 'attn:int9': bad format 'int9'");
    fails("--model " + ckpt.string() + " --quant attention:int6", "unknown tensor class 'attention'");
    fails("--model " + ckpt.string() + " --compressor lz4", "COMPRESSOR: unknown compressor 'lz4'");
    fails("--model " + ckpt.string() + " --compressor zstd-30", "level '30' is not a number in 1..22");

    // A damaged artifact given as the model.
    const auto art = dir / "good.art";
    REQUIRE(pgolf("--model " + ckpt.string() + " --out " + art.string()).status == 0);
    const std::string good = read_raw(art);
    write_raw(dir / "cut.art", good.substr(0, good.size() - 3));
    fails("--model " + (dir / "cut.art").string(), (dir / "cut.art").string() + " is corrupt or truncated");
    std::string flipped = good;
    flipped[good.size() / 2] ^= 0x10;
    write_raw(dir / "flipped.art", flipped);
    fails("--model " + (dir / "flipped.art").string(), (dir / "flipped.art").string());

    // Weights whose shapes do not match the settings: a checkpoint claiming MODEL_DIM=96.
    Checkpoint wrong = c;
    std::map<std::string, std::string> cfg = kConfig;
    cfg["MODEL_DIM"] = "96";
    cfg["NUM_HEADS"] = "4";
    wrong.set_config(cfg);
    save_checkpoint(dir / "wrong.ckpt", wrong);
    fails("--model " + (dir / "wrong.ckpt").string(), (dir / "wrong.ckpt").string());
    fails("--model " + (dir / "wrong.ckpt").string(), "the model needs f32 [96,96]");
    CHECK(dir.entries() == std::vector<std::string>{"cut.art", "flipped.art", "good.art", "out.art", "run.ckpt",
                                                     "wrong.ckpt"});
}

TEST_CASE("export: pgolf export --init writes the settings' initialised model, with Gaussian matrices on request") {
    TempDir dir;
    auto init = [&](const std::string& args, const std::filesystem::path& out) {
        const CommandResult r =
            run_command(config_env() + PG_BINARY + " export --init " + args + " --out " + out.string());
        REQUIRE_MESSAGE(r.status == 0, r.output);
        return r.output;
    };
    CHECK(init("--init-std 0.5 --report", dir / "gauss.art").find("within the 16000000-byte cap") != std::string::npos);
    init("--format safetensors", dir / "init.safetensors");
    init("--init-std 0.5 --format safetensors", dir / "gauss.safetensors");
    const TensorMap plain = load_model_weights(dir / "init.safetensors");
    const TensorMap gauss = load_model_weights(dir / "gauss.safetensors");
    CHECK(plain.size() == tiny_weights().size());
    // The embedding (2048 x 64 = 131,072 elements, a quantized matrix) is drawn from
    // N(0, 0.005²) at init (TIED_EMBED_INIT_STD), from N(0, 0.5²) with --init-std 0.5: the rms of
    // 131,072 draws is within 0.3% (one standard error) of the std; 2% allowed.
    CHECK(std::fabs(rms(plain.at("tok_emb.weight")) / 0.005 - 1) < 0.02);
    CHECK(std::fabs(rms(gauss.at("tok_emb.weight")) / 0.5 - 1) < 0.02);
    // A small weight matrix (64 x 64, zero at init) is Gaussian too (its 4,096 draws: 2% of
    // 0.5 is 1.8 standard errors, so 5% allowed); a control tensor keeps its initialisation.
    CHECK(rms(plain.at("blocks.0.attn.proj.weight")) == 0);
    CHECK(std::fabs(rms(gauss.at("blocks.0.attn.proj.weight")) / 0.5 - 1) < 0.05);
    CHECK(gauss.at("blocks.0.resid_mix").bytes == plain.at("blocks.0.resid_mix").bytes);

    const auto out = dir / "x.art";
    auto fails = [&](const std::string& args, const std::string& expected) {
        const CommandResult r = run_command(config_env() + PG_BINARY + " export " + args + " --out " + out.string());
        CHECK_MESSAGE(r.status != 0, r.output);
        CHECK_MESSAGE(r.output.find(expected) != std::string::npos, r.output);
        CHECK(!std::filesystem::exists(out));
    };
    fails("--init --model " + (dir / "init.art").string(), "either --model FILE or --init");
    fails("--model " + (dir / "init.art").string() + " --init-std 0.5", "--init-std goes with --init");
    fails("--init --init-std -1", "--init-std '-1' is not a non-negative number");
}
