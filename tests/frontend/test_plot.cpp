// The PLplot figure writer: a real PNG of the requested size, atomically written, clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "frontend/report/plot.h"

namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("pgolf_plot_" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Width and height from the PNG's IHDR chunk (bytes 16..23, big-endian), after the signature.
std::pair<uint32_t, uint32_t> png_size(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::string head(24, '\0');
    in.read(head.data(), 24);
    REQUIRE(head.substr(1, 3) == "PNG");
    auto be32 = [&](int at) {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(head[at + i]);
        return v;
    };
    return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("write_png draws line and bar panels into a PNG of the requested size") {
    fs::path dir = temp_dir("ok");
    pg::report::Figure fig;
    fig.width = 640;
    fig.height = 480;
    pg::report::Series a{"run a", {0, 1, 2, 3}, {4, 3, 2.5, 2.2}};
    pg::report::Series b{"run b", {0, 1, 2, 3}, {4, 3.2, NAN, 2.0}};  // a gap is drawn as two pieces
    fig.panels.push_back({"loss", "step", "nats", {a, b}, {}});
    fig.panels.push_back({"time share", "ms", "", {}, {{"matmul", 3.0}, {"softmax", 1.0}}});
    pg::report::write_png(dir / "fig.png", fig);
    CHECK(png_size(dir / "fig.png") == std::pair<uint32_t, uint32_t>{640, 480});
    for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename() == "fig.png");  // no temp left
}

TEST_CASE("write_png refuses an empty figure and a missing folder, naming the file") {
    fs::path dir = temp_dir("bad");
    pg::report::Figure empty;
    empty.panels.push_back({"loss", "step", "nats", {}, {}});
    CHECK_THROWS_WITH_AS(pg::report::write_png(dir / "e.png", empty), doctest::Contains("e.png"), pg::Error);
    pg::report::Figure fig;
    fig.panels.push_back({"loss", "step", "nats", {{"r", {0, 1}, {1, 2}}}, {}});
    CHECK_THROWS_WITH_AS(pg::report::write_png(dir / "missing" / "f.png", fig), doctest::Contains("missing"),
                         pg::Error);
    CHECK(!fs::exists(dir / "e.png"));
}
