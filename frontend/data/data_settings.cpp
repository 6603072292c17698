// Declares DATA_PATH and TOKENIZER_PATH (see data_settings.h).
#include "frontend/data/data_settings.h"

#include "base/env.h"

namespace pg::data {

PG_KNOB({.name = "DATA_PATH", .kind = env::KnobKind::String, .default_value = "./data/datasets/fineweb10B_sp1024",
         .doc = "dataset folder of fineweb_train_*.bin / fineweb_val_*.bin shards (`pgolf prepare` writes one)"});
PG_KNOB({.name = "TOKENIZER_PATH", .kind = env::KnobKind::String,
         .default_value = "./data/tokenizers/fineweb_1024_bpe.model",
         .doc = "SentencePiece .model of the dataset; its byte tables give val_bpb"});

std::filesystem::path data_path() { return env::get("DATA_PATH"); }
std::filesystem::path tokenizer_path() { return env::get("TOKENIZER_PATH"); }

}  // namespace pg::data
