// PG_DUMP_DIR and dump_file (see dump.h).
#include "base/dump.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/atomic_file.h"
#include "base/env.h"
#include "base/error.h"

namespace pg {

PG_KNOB({.name = "PG_DUMP_DIR",
         .kind = env::KnobKind::String,
         .default_value = "",
         .doc = "directory that receives every kernel's kir, generated source / optimised IR and dumped "
                "graphs (\"\" = off)"});

std::string dump_dir() { return env::get("PG_DUMP_DIR"); }

void dump_file(std::string_view file_name, std::string_view text) {
    std::string dir = dump_dir();
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    PG_CHECK(!ec, "cannot create the dump directory {}: {} (check PG_DUMP_DIR)", dir, ec.message());
    io::write_file_atomically(std::filesystem::path(dir) / file_name, text, io::Durability::Atomic);
}

}  // namespace pg
