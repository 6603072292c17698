// Whole-file reads (see file_bytes.h).
#include "frontend/export/file_bytes.h"

#include <fstream>
#include <iterator>

#include "base/error.h"

namespace pg::io {

namespace fs = std::filesystem;

std::string read_file_bytes(const fs::path& path) {
    std::error_code ec;
    PG_CHECK(fs::exists(path, ec), "cannot read {}: no such file; check the path", path.string());
    PG_CHECK(fs::is_regular_file(path, ec), "cannot read {}: not a regular file", path.string());
    std::ifstream in(path, std::ios::binary);
    PG_CHECK(in.good(), "cannot read {}: opening it failed; check permissions", path.string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    PG_CHECK(!in.bad(), "cannot read {}: I/O error", path.string());
    return bytes;
}

}  // namespace pg::io
