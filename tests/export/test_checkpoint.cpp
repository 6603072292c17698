// Checkpoints: parameters, optimizer state and typed metadata round-trip bit-exactly; a missing,
// truncated, corrupt or foreign file gives a pg::Error naming it; metadata accessors name the
// key they cannot read; check_tensors_match lists every difference from the model's specs.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <bit>
#include <limits>

#include "frontend/export/checkpoint.h"
#include "frontend/module.h"
#include "tests/export/export_test_util.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

// A miniature of the baseline's parameters plus Adam and Muon state.
Checkpoint sample_checkpoint() {
    std::mt19937 rng(11);
    Checkpoint c;
    c.tensors["tok_emb.weight"] = random_tensor(DType::bf16, {32, 16}, rng);
    c.tensors["tok_emb.weight.exp_avg"] = random_tensor(DType::bf16, {32, 16}, rng);
    c.tensors["tok_emb.weight.exp_avg_sq"] = random_tensor(DType::bf16, {32, 16}, rng);
    c.tensors["blocks.0.attn.c_q.weight"] = random_tensor(DType::f32, {16, 16}, rng);
    c.tensors["blocks.0.attn.c_q.weight.momentum_buffer"] = random_tensor(DType::f32, {16, 16}, rng);
    c.tensors["blocks.0.attn.q_gain"] = random_tensor(DType::f32, {4}, rng);
    c.tensors["blocks.0.resid_mix"] = random_tensor(DType::f32, {2, 16}, rng);
    c.tensors["skip_weights"] = random_tensor(DType::f32, {1, 16}, rng);
    c.set_int(kStepKey, 1234);
    c.set_double(kTrainElapsedMsKey, 600123.456789012345);
    c.set_config({{"NUM_LAYERS", "2"}, {"MODEL_DIM", "16"}, {"MATRIX_LR", "0.04"}});
    c.set_ints(std::string(kLoaderPrefix) + "position", {3, 0, 524288, -1});
    c.set_ints(std::string(kLoaderPrefix) + "empty", {});
    c.set_uint(std::string(kRngPrefix) + "state", std::numeric_limits<uint64_t>::max());
    c.set("note", "resumable; ünïcode ok");
    return c;
}

}  // namespace

TEST_CASE("export: checkpoint round trip is bit-exact, metadata included") {
    TempDir dir;
    const auto path = dir / std::string(kCheckpointFileName);
    const Checkpoint c = sample_checkpoint();
    save_checkpoint(path, c);
    const Checkpoint back = load_checkpoint(path);
    CHECK(back.source == path.string());
    CHECK(back.meta == c.meta);  // the format marker is not part of the user's metadata
    REQUIRE(back.tensors.size() == c.tensors.size());
    for (const auto& [name, t] : c.tensors) {
        INFO(name);
        CHECK(same_tensor(back.tensors.at(name), t));
    }
    CHECK(back.get_int(kStepKey) == 1234);
    CHECK(back.get_double(kTrainElapsedMsKey) == 600123.456789012345);
    CHECK(back.config() == std::map<std::string, std::string>{{"MATRIX_LR", "0.04"}, {"MODEL_DIM", "16"}, {"NUM_LAYERS", "2"}});
    CHECK(back.get_ints("loader.position") == std::vector<int64_t>{3, 0, 524288, -1});
    CHECK(back.get_ints("loader.empty").empty());
    CHECK(back.get_uint("rng.state") == std::numeric_limits<uint64_t>::max());

    // Doubles: the shortest text that reads back to the same bits, for awkward values too.
    Checkpoint d;
    for (double v : {0.1, 1.0 / 3.0, -0.0, 5e-324, 1.7976931348623157e308, 123456789.125}) {
        d.set_double("x", v);
        CHECK(std::bit_cast<uint64_t>(d.get_double("x")) == std::bit_cast<uint64_t>(v));
    }

    // Saving again over an existing checkpoint replaces it atomically.
    Checkpoint c2 = c;
    c2.set_int(kStepKey, 1235);
    save_checkpoint(path, c2);
    CHECK(load_checkpoint(path).get_int(kStepKey) == 1235);
    CHECK(dir.entries() == std::vector<std::string>{std::string(kCheckpointFileName)});

    // The model parameters, without optimizer state.
    const TensorMap params = model_params(back.tensors);
    CHECK(params.size() == 5);
    CHECK(!params.contains("tok_emb.weight.exp_avg"));
    CHECK(is_optimizer_state("blocks.0.attn.c_q.weight.momentum_buffer"));
    CHECK(!is_optimizer_state("exp_avg"));
    CHECK(!is_optimizer_state("blocks.0.attn.c_q.weight"));
}

TEST_CASE("export: checkpoint is readable as a plain safetensors file") {
    TempDir dir;
    const Checkpoint c = sample_checkpoint();
    save_checkpoint(dir / "c.ckpt", c);
    const SafetensorsFile f = read_safetensors(dir / "c.ckpt");
    CHECK(f.metadata.at(std::string(kFormatKey)) == kFormatValue);
    CHECK(f.metadata.at("step") == "1234");
    CHECK(f.tensors.size() == c.tensors.size());
    if (!python_has("json")) {
        PG_SKIP_PART("the Python layout check: " << kPython << " is not available");
        return;
    }
    const CommandResult r =
        run_command(std::string(kPython) + " " + script_path("safetensors_layout.py") + " check " + (dir / "c.ckpt").string());
    CHECK_MESSAGE(r.status == 0, r.output);
}

TEST_CASE("export: damaged or foreign checkpoints give a pg::Error naming the file") {
    TempDir dir;
    const auto path = dir / "c.ckpt";
    CHECK(error_of([&] { load_checkpoint(path); }).find(path.string() + ": no such file") != std::string::npos);

    save_checkpoint(path, sample_checkpoint());
    const std::string good = read_raw(path);
    const auto cut = dir / "cut.ckpt";
    for (size_t n : {size_t{0}, size_t{5}, size_t{100}, good.size() - 8, good.size() - 1}) {
        INFO(n);
        write_raw(cut, good.substr(0, n));
        const std::string msg = error_of([&] { load_checkpoint(cut); });
        CHECK(msg.find(cut.string()) != std::string::npos);
    }
    write_raw(cut, good.substr(0, good.size() - 1));
    CHECK(error_of([&] { load_checkpoint(cut); }).find("is truncated") != std::string::npos);

    // A flipped byte inside the JSON header.
    std::string corrupt = good;
    corrupt[12] = '\x01';
    write_raw(cut, corrupt);
    CHECK(error_of([&] { load_checkpoint(cut); }).find("not valid JSON") != std::string::npos);

    // Extra bytes appended.
    write_raw(cut, good + "junk");
    CHECK(error_of([&] { load_checkpoint(cut); }).find("4 unexpected bytes") != std::string::npos);

    // A plain safetensors file (e.g. from PyTorch) is not a resumable checkpoint.
    write_safetensors(dir / "plain.safetensors", sample_checkpoint().tensors, {{"format", "pt"}});
    CHECK(error_of([&] { load_checkpoint(dir / "plain.safetensors"); }).find("not a pgolf checkpoint") != std::string::npos);
    write_safetensors(dir / "future.ckpt", {}, {{std::string(kFormatKey), "checkpoint-v9"}});
    CHECK(error_of([&] { load_checkpoint(dir / "future.ckpt"); }).find("checkpoint format 'checkpoint-v9'") !=
          std::string::npos);

    // The reserved key cannot be set by the trainer.
    Checkpoint c;
    c.set(kFormatKey, "x");
    CHECK(error_of([&] { save_checkpoint(dir / "r.ckpt", c); }).find("reserved") != std::string::npos);
}

TEST_CASE("export: checkpoint metadata accessors name the missing or malformed key") {
    TempDir dir;
    save_checkpoint(dir / "c.ckpt", sample_checkpoint());
    Checkpoint c = load_checkpoint(dir / "c.ckpt");
    const std::string where = (dir / "c.ckpt").string();
    std::string msg = error_of([&] { c.get_int("loader.shard"); });
    CHECK(msg.find(where) != std::string::npos);
    CHECK(msg.find("metadata 'loader.shard' is missing") != std::string::npos);
    c.set("bad_int", "12x");
    c.set("bad_list", "1,,2");
    c.set("negative", "-1");
    CHECK(error_of([&] { c.get_int("bad_int"); }).find("metadata 'bad_int' is '12x', expected an integer") != std::string::npos);
    CHECK(error_of([&] { c.get_ints("bad_list"); }).find("comma-separated list") != std::string::npos);
    CHECK(error_of([&] { c.get_uint("negative"); }).find("unsigned") != std::string::npos);
    CHECK(error_of([&] { c.get_double("note"); }).find("expected a number") != std::string::npos);
    CHECK(error_of([&] { Checkpoint{}.get("x"); }).find("checkpoint: metadata 'x' is missing") != std::string::npos);
}

TEST_CASE("export: check_tensors_match lists every difference from the model") {
    std::vector<ParamSpec> specs;
    auto add = [&](const std::string& name, Shape shape, DType dt, const std::string& group) {
        ParamSpec s;
        s.name = name;
        s.shape = std::move(shape);
        s.dtype = dt;
        s.group = group;
        specs.push_back(s);
    };
    add("tok_emb.weight", {32, 16}, DType::bf16, "embed");
    add("tok_emb.weight.exp_avg", {32, 16}, DType::bf16, "state");
    add("tok_emb.weight.exp_avg_sq", {32, 16}, DType::bf16, "state");
    add("blocks.0.attn.c_q.weight", {16, 16}, DType::f32, "matrix");
    add("blocks.0.attn.c_q.weight.momentum_buffer", {16, 16}, DType::f32, "state");
    add("blocks.0.attn.q_gain", {4}, DType::f32, "scalar");
    add("blocks.0.resid_mix", {2, 16}, DType::f32, "scalar");
    add("skip_weights", {1, 16}, DType::f32, "scalar");

    const Checkpoint c = sample_checkpoint();
    check_tensors_match(c.tensors, specs, "c.ckpt", true);
    check_tensors_match(c.tensors, specs, "c.ckpt", false);
    check_tensors_match(model_params(c.tensors), specs, "artifact", false);
    CHECK(error_of([&] { check_tensors_match(model_params(c.tensors), specs, "w.safetensors", true); })
              .find("missing 'tok_emb.weight.exp_avg'") != std::string::npos);

    TensorMap changed = c.tensors;
    changed.erase("skip_weights");
    changed["blocks.0.attn.q_gain"] = HostTensor(DType::f32, {8});
    changed["blocks.1.attn.q_gain"] = HostTensor(DType::f32, {4});
    const std::string msg = error_of([&] { check_tensors_match(changed, specs, "c.ckpt", true); });
    CHECK(msg.find("c.ckpt does not match the model (3 problems)") != std::string::npos);
    CHECK(msg.find("missing 'skip_weights' (f32 [1,16])") != std::string::npos);
    CHECK(msg.find("'blocks.0.attn.q_gain' is f32 [8], the model needs f32 [4]") != std::string::npos);
    CHECK(msg.find("unexpected 'blocks.1.attn.q_gain'") != std::string::npos);
}
