// Reading a whole file into memory with errors that name it (artifacts, submission.json).
#pragma once
#include <filesystem>
#include <string>

namespace pg::io {

// The file's bytes. Throws pg::Error naming the path when it is missing, not a regular file, or
// cannot be read.
std::string read_file_bytes(const std::filesystem::path& path);

}  // namespace pg::io
