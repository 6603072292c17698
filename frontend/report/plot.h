// PNG figures through PLplot (pngcairo driver): a grid of panels, each either line series over a
// shared x axis (training curves) or labelled bars (per-kernel time shares). The one plotting entry
// point of pgolf: `pgolf report` and `pgolf bench` draw with it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace pg::report {

struct Series {
    std::string label;
    std::vector<double> x, y;  // same length; points with a non-finite coordinate are skipped
};

struct Bar {
    std::string label;
    double value = 0;
};

struct Panel {
    std::string title, x_label, y_label;
    std::vector<Series> series;  // a line panel ...
    std::vector<Bar> bars;       // ... or a bar panel (when `bars` is not empty)
};

struct Figure {
    std::vector<Panel> panels;
    int columns = 2;  // panels fill rows left to right
    int width = 1400, height = 1000;  // pixels
};

// Draws `figure` into the PNG `path`, atomically (a temporary file beside it, renamed on success).
// Throws pg::Error when the figure has no panel with data, the folder is not writable, or PLplot's
// cairo driver is missing (Debian: plplot-driver-cairo).
void write_png(const std::filesystem::path& path, const Figure& figure);

}  // namespace pg::report
