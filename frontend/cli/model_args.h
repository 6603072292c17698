// Shared parsing for commands that take a model file: "--model FILE" (or --model=FILE) plus
// other "--name value" options, and applying a checkpoint's stored model settings.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace pg::cli {

// Parses "--key value" / "--key=value" pairs for the given keys; anything else is a pg::Error
// naming the argument and listing the accepted options of `command`.
std::map<std::string, std::string> parse_options(const std::vector<std::string>& args,
                                                 const std::vector<std::string>& keys, const std::string& command);

// When `path` is a pgolf checkpoint, sets the model-defining settings (NUM_LAYERS, MODEL_DIM, ...)
// it was trained with, so that the model is rebuilt with the right shapes; returns how many.
int apply_checkpoint_model_settings(const std::string& path);

}  // namespace pg::cli
