// Dump helpers for observability (PG_DUMP_DIR): every layer that produces something a developer
// may want to read (graphs after passes, kir, generated CUDA / LLVM IR, NVRTC logs) writes it
// through here, under stable names.
#pragma once
#include <string>
#include <string_view>

namespace pg {

// The PG_DUMP_DIR knob ("" = no dumps).
std::string dump_dir();

// Writes `text` to <PG_DUMP_DIR>/<file_name> (creating the directory, atomically) when dumps are
// on; a write failure throws pg::Error naming the path.
void dump_file(std::string_view file_name, std::string_view text);

}  // namespace pg
