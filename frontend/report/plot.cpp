// PNG figures through PLplot (see plot.h).
#include "frontend/report/plot.h"

#include <fmt/format.h>
#include <plplot/plplot.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>

#include "base/error.h"

namespace pg::report {
namespace {

// Colour map 0: 0 background (white), 1 axes and text (black), 2..11 series (the "tab10" palette,
// chosen because its ten hues stay distinguishable in print and for common colour blindness), 12 grid.
constexpr int kSeriesColours = 10;
constexpr PLINT kGridColour = 12;
const PLINT kRed[] = {255, 0, 31, 255, 44, 214, 148, 140, 227, 127, 188, 23, 225};
const PLINT kGreen[] = {255, 0, 119, 127, 160, 39, 103, 86, 119, 127, 189, 190, 225};
const PLINT kBlue[] = {255, 0, 180, 14, 44, 40, 189, 75, 194, 127, 34, 207, 225};

PLINT series_colour(size_t i) { return 2 + static_cast<PLINT>(i % kSeriesColours); }

int report_plplot_exit(PLCHAR_VECTOR message) {
    // PLplot exits after this handler; inputs are validated before plotting so this is a PLplot fault.
    std::fprintf(stderr, "pgolf: PLplot failed: %s\n", message);
    return 0;
}

bool has_pngcairo() {
    // plgFileDevs fills caller-owned arrays; count is their capacity on input (PLplot 5.15 has ~40 devices).
    std::vector<PLCHAR_VECTOR> menu_storage(128), name_storage(128);
    PLCHAR_VECTOR* menus = menu_storage.data();
    PLCHAR_VECTOR* names = name_storage.data();
    int count = static_cast<int>(name_storage.size());
    plgFileDevs(&menus, &names, &count);
    for (int i = 0; i < count; ++i)
        if (std::string(names[i]) == "pngcairo") return true;
    return false;
}

struct Range {
    double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    bool empty() const { return lo > hi; }
    // A degenerate range (one point, a flat curve) gets a margin so the axis can be drawn.
    std::pair<double, double> padded() const {
        double pad = hi > lo ? 0.04 * (hi - lo) : std::max(std::abs(lo) * 0.05, 1.0);
        return {lo - pad, hi + pad};
    }
};

bool has_data(const Panel& p) {
    if (!p.bars.empty()) return true;
    return std::any_of(p.series.begin(), p.series.end(), [](const Series& s) { return !s.x.empty(); });
}

// Draws the runs of consecutive finite points of `s` as polylines.
void draw_series(const Series& s) {
    std::vector<PLFLT> xs, ys;
    auto flush = [&] {
        if (xs.size() == 1) plpoin(1, xs.data(), ys.data(), 17);
        if (xs.size() > 1) plline(static_cast<PLINT>(xs.size()), xs.data(), ys.data());
        xs.clear();
        ys.clear();
    };
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
            xs.push_back(s.x[i]);
            ys.push_back(s.y[i]);
        } else {
            flush();
        }
    }
    flush();
}

void draw_legend(const Panel& p) {
    std::vector<PLINT> opts(p.series.size(), PL_LEGEND_LINE), colours, text_colours(p.series.size(), 1),
        styles(p.series.size(), 1);
    std::vector<PLFLT> widths(p.series.size(), 2.0);
    std::vector<const char*> texts;
    for (size_t i = 0; i < p.series.size(); ++i) {
        colours.push_back(series_colour(i));
        texts.push_back(p.series[i].label.c_str());
    }
    PLFLT w = 0, h = 0;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE,
             0.01, 0.01, 0.08, 0, 1, 1, 0, 0, static_cast<PLINT>(texts.size()), opts.data(), 0.8, 0.7, 1.8, 0.0,
             text_colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr, colours.data(), styles.data(),
             widths.data(), nullptr, nullptr, nullptr, nullptr);
}

// Light grid first, then the black frame, ticks and numbers over it.
void draw_axes(const char* x_opts, const char* y_opts) {
    plcol0(kGridColour);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox(x_opts, 0, 0, y_opts, 0, 0);
}

void draw_lines(const Panel& p) {
    Range xr, yr;
    for (const Series& s : p.series) {
        for (double v : s.x) xr.add(v);
        for (double v : s.y) yr.add(v);
    }
    if (xr.empty() || yr.empty()) xr = yr = Range{0, 1};
    auto [x0, x1] = xr.padded();
    auto [y0, y1] = yr.padded();
    plvpor(0.15, 0.96, 0.16, 0.9);
    plwind(x0, x1, y0, y1);
    draw_axes("bcnst", "bcnstv");
    pllab(p.x_label.c_str(), p.y_label.c_str(), p.title.c_str());
    plwidth(2.0);
    for (size_t i = 0; i < p.series.size(); ++i) {
        plcol0(series_colour(i));
        draw_series(p.series[i]);
    }
    plwidth(1.0);
    if (p.series.size() > 1 || (!p.series.empty() && !p.series[0].label.empty())) draw_legend(p);
}

// Horizontal bars, one row per label (top to bottom in the given order), labels left of the axis.
void draw_bars(const Panel& p) {
    double hi = 0;
    for (const Bar& b : p.bars) hi = std::max(hi, std::isfinite(b.value) ? b.value : 0.0);
    double n = static_cast<double>(p.bars.size());
    plvpor(0.38, 0.96, 0.16, 0.9);
    plwind(0, hi > 0 ? hi * 1.05 : 1, 0, n);
    draw_axes("bcnst", "bc");
    pllab(p.x_label.c_str(), "", p.title.c_str());
    for (size_t i = 0; i < p.bars.size(); ++i) {
        double v = std::isfinite(p.bars[i].value) ? std::max(p.bars[i].value, 0.0) : 0.0;
        double top = n - static_cast<double>(i) - 0.15, bottom = n - static_cast<double>(i) - 0.85;
        PLFLT xs[] = {0, v, v, 0}, ys[] = {bottom, bottom, top, top};
        plcol0(series_colour(0));
        plfill(4, xs, ys);
        plcol0(1);
        plschr(0, 0.7);
        plmtex("lv", 0.5, 1.0 - (static_cast<double>(i) + 0.5) / n, 1.0, p.bars[i].label.c_str());
        plschr(0, 0.8);
    }
}

}  // namespace

void write_png(const std::filesystem::path& path, const Figure& figure) {
    PG_CHECK(std::any_of(figure.panels.begin(), figure.panels.end(), has_data),
             "nothing to plot into {}: every panel is empty", path.string());
    PG_CHECK(figure.columns > 0 && figure.width > 0 && figure.height > 0, "bad figure layout for {}", path.string());
    std::filesystem::path dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    PG_CHECK(std::filesystem::is_directory(dir) && ::access(dir.c_str(), W_OK) == 0,
             "cannot write the plot {}: folder {} is missing or not writable", path.string(), dir.string());
    static std::mutex plplot_mutex;  // PLplot keeps one current stream per process
    std::lock_guard lock(plplot_mutex);
    PG_CHECK(has_pngcairo(), "PLplot has no pngcairo driver: install plplot-driver-cairo (scripts/setup.sh does)");
    std::filesystem::path temp = path;
    temp += fmt::format(".tmp{}", ::getpid());
    int rows = (static_cast<int>(figure.panels.size()) + figure.columns - 1) / figure.columns;
    plsexit(report_plplot_exit);
    plsdev("pngcairo");
    plsfnam(temp.c_str());
    plspage(0, 0, figure.width, figure.height, 0, 0);
    plscmap0(kRed, kGreen, kBlue, kGridColour + 1);
    plssub(figure.columns, rows);
    plinit();
    plschr(0, 0.8);  // PLplot's default characters crowd the axis labels of a 2x2 grid
    for (const Panel& p : figure.panels) {
        pladv(0);
        if (!p.bars.empty()) draw_bars(p);
        else draw_lines(p);
    }
    plend();
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) std::filesystem::remove(temp);
    PG_CHECK(!ec, "cannot write the plot {}: {}", path.string(), ec.message());
}

}  // namespace pg::report
