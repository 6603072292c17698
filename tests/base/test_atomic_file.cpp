// AtomicFile: content lands whole, an existing file is replaced, and every failure (a parent path
// that is a file, a missing or read-only directory, a producer that throws, no commit) leaves
// neither a partial target nor a temporary file, with a pg::Error naming the target.
#include <doctest/doctest.h>
#include "tests/support/skip.h"

#include <sys/stat.h>

#include "base/atomic_file.h"
#include "tests/export/export_test_util.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

TEST_CASE("export: atomic write creates and replaces files whole") {
    TempDir dir;
    const auto path = dir / "model.bin";
    write_file_atomically(path, std::string("first version"));
    CHECK(read_raw(path) == "first version");
    std::string big(3'000'000, 'x');
    for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i % 251);
    write_file_atomically(path, big);
    CHECK(read_raw(path) == big);
    write_file_atomically(path, std::string());
    CHECK(std::filesystem::file_size(path) == 0);
    CHECK(dir.entries() == std::vector<std::string>{"model.bin"});

    // Streaming writes through the producer form, with the byte count.
    write_file_atomically(path, [](AtomicFile& f) {
        f.write("ab", 2);
        f.write(std::string_view("cd"));
        CHECK(f.bytes_written() == 4);
    });
    CHECK(read_raw(path) == "abcd");
    // A relative path in the current directory works too (its parent is "").
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    write_file_atomically("relative.bin", std::string("r"));
    std::filesystem::current_path(cwd);
    CHECK(read_raw(dir / "relative.bin") == "r");
}

TEST_CASE("export: atomic write failures leave no partial file and name the path") {
    TempDir dir;
    write_raw(dir / "a_file", "not a directory");

    // The parent is a file.
    const auto under_file = dir / "a_file" / "model.bin";
    std::string msg = error_of([&] { write_file_atomically(under_file, std::string("data")); });
    CHECK(msg.find(under_file.string()) != std::string::npos);
    CHECK(msg.find("Not a directory") != std::string::npos);

    // The directory does not exist.
    const auto missing = dir / "no_such_dir" / "model.bin";
    msg = error_of([&] { write_file_atomically(missing, std::string("data")); });
    CHECK(msg.find(missing.string()) != std::string::npos);
    CHECK(!std::filesystem::exists(missing));

    // The target is a directory.
    std::filesystem::create_directory(dir / "sub");
    msg = error_of([&] { write_file_atomically(dir / "sub", std::string("data")); });
    CHECK(msg.find("is a directory") != std::string::npos);

    // The producer fails half-way: the old content survives and no temporary file remains.
    const auto target = dir / "ckpt";
    write_file_atomically(target, std::string("old complete content"));
    CHECK_THROWS_AS(write_file_atomically(target,
                                          [](AtomicFile& f) {
                                              f.write(std::string(1000, 'n'));
                                              throw Error("simulated failure while serialising");
                                          }),
                    Error);
    CHECK(read_raw(target) == "old complete content");

    // Destroyed without commit: nothing appears.
    {
        AtomicFile f(dir / "never");
        f.write(std::string("partial"));
    }
    CHECK(!std::filesystem::exists(dir / "never"));
    CHECK(dir.entries() == std::vector<std::string>{"a_file", "ckpt", "sub"});
}

TEST_CASE("export: atomic write into a read-only directory fails cleanly") {
    if (::geteuid() == 0) {
        PG_SKIP("running as root, for whom directory permissions do not stop writes");
    }
    TempDir dir;
    const auto ro = dir / "ro";
    std::filesystem::create_directory(ro);
    ::chmod(ro.c_str(), 0555);
    const std::string msg = error_of([&] { write_file_atomically(ro / "model.bin", std::string("data")); });
    ::chmod(ro.c_str(), 0755);
    CHECK(msg.find((ro / "model.bin").string()) != std::string::npos);
    CHECK(msg.find("Permission denied") != std::string::npos);
    CHECK(std::filesystem::is_empty(ro));
}
