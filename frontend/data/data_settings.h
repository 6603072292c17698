// The dataset settings, under the challenge's names: DATA_PATH (a folder of fineweb_{train,val}_*.bin
// shards) and TOKENIZER_PATH (its SentencePiece .model), with the baseline's defaults.
#pragma once
#include <filesystem>

namespace pg::data {

std::filesystem::path data_path();       // DATA_PATH
std::filesystem::path tokenizer_path();  // TOKENIZER_PATH

}  // namespace pg::data
