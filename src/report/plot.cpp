#include "posefer/report/plot.h"

#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "posefer/core/check.h"
#include "posefer/report/gnuplot.h"
#include "posefer/render/make_faces.h"

namespace posefer {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);

// The Mat shares the RgbImage's pixels, so OpenCV draws straight into it (channel order RGB:
// colours below are given as (r, g, b)).
cv::Mat view(RgbImage& img) { return cv::Mat(img.height, img.width, CV_8UC3, img.pixels.data()); }

cv::Scalar rgb(const std::array<uint8_t, 3>& c) { return cv::Scalar(c[0], c[1], c[2]); }

cv::Size text_size(const std::string& s, double scale, int thickness = 1) {
  int base = 0;
  return cv::getTextSize(s, kFont, scale, thickness, &base);
}

void text(cv::Mat& m, const std::string& s, cv::Point at, double scale, const cv::Scalar& colour,
          int thickness = 1) {
  cv::putText(m, s, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

// Shortest "%g"-style label that tells neighbouring ticks apart.
std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-9) v = 0;
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char buf[64];
  if (std::abs(v) >= 1e5 || (v != 0 && std::abs(v) < 1e-3)) {
    std::snprintf(buf, sizeof buf, "%.0e", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  return buf;
}

}  // namespace

std::string format_number(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  POSEFER_CHECK_CONFIG(std::isfinite(lo) && std::isfinite(hi) && lo <= hi,
                       "nice_ticks: need a finite range lo <= hi, got [", lo, ", ", hi, "]");
  POSEFER_CHECK_CONFIG(max_ticks >= 2, "nice_ticks: max_ticks must be >= 2, got ", max_ticks);
  if (lo == hi) return {lo};
  const double raw = (hi - lo) / (max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9) + 1 <= max_ticks) break;
  }
  std::vector<double> out;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1) {
    out.push_back(std::abs(k * step) < step * 1e-9 ? 0.0 : k * step);
  }
  return out;
}

std::array<uint8_t, 3> series_colour(size_t i) {
  // Okabe-Ito palette (distinguishable with common colour-vision deficiencies).
  static const std::array<uint8_t, 3> kPalette[] = {
      {0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167},
      {230, 159, 0}, {86, 180, 233}, {0, 0, 0}, {240, 228, 66}};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

void validate_line_chart(const std::vector<Series>& series, const LineChartOptions& o) {
  POSEFER_CHECK_CONFIG(o.width >= 200 && o.height >= 200, "line_chart: image ", o.width, "x",
                       o.height, " is too small (min 200x200)");
  POSEFER_CHECK_SHAPE(!series.empty(), "line_chart: no series to draw");
  bool any = false;
  for (const Series& s : series) {
    POSEFER_CHECK_SHAPE(s.x.size() == s.y.size(), "line_chart: series '", s.name, "' has ",
                        s.x.size(), " x values but ", s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i)
      any = any || (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!o.log_y || s.y[i] > 0));
  }
  POSEFER_CHECK_SHAPE(any, "line_chart: no finite point in any series");
}

RgbImage line_chart(const std::vector<Series>& series, const LineChartOptions& o) {
  validate_line_chart(series, o);
  auto ok = [&](double y) { return std::isfinite(y) && (!o.log_y || y > 0); };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !ok(s.y[i])) continue;
      const double y = o.log_y ? std::log10(s.y[i]) : s.y[i];
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  }
  if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  if (!o.log_y) {
    // Let ticks land on the range ends where that adds little.
    const auto t = nice_ticks(y0, y1);
    const double step = t.size() > 1 ? t[1] - t[0] : 1;
    y0 = std::floor(y0 / step) * step;
    y1 = std::ceil(y1 / step) * step;
  }

  RgbImage img(o.width, o.height, 255);
  cv::Mat m = view(img);
  const int left = 78, right = o.width - 24, top = o.title.empty() ? 40 : 64;
  const int bottom = o.height - (o.x_label.empty() ? 44 : 62);
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  if (!o.title.empty()) {
    const auto ts = text_size(o.title, 0.7, 2);
    text(m, o.title, {(o.width - ts.width) / 2, 30}, 0.7, kInk, 2);
  }
  // Grid and ticks.
  const auto xt = nice_ticks(x0, x1, 8);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double xv : xt) {
    const int x = static_cast<int>(std::lround(px(xv)));
    cv::line(m, {x, top}, {x, bottom}, kGrid, 1);
    const std::string s = tick_label(xv, xstep);
    const auto ts = text_size(s, 0.45);
    text(m, s, {x - ts.width / 2, bottom + 20}, 0.45, kInk);
  }
  std::vector<double> yt;
  if (o.log_y) {
    for (double k = std::ceil(y0); k <= std::floor(y1); k += 1) yt.push_back(k);
    if (yt.size() < 2) yt = nice_ticks(y0, y1, 6);
  } else {
    yt = nice_ticks(y0, y1, 7);
  }
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double yv : yt) {
    const int y = static_cast<int>(std::lround(py(yv)));
    cv::line(m, {left, y}, {right, y}, kGrid, 1);
    const std::string s = o.log_y ? tick_label(std::pow(10.0, yv), std::pow(10.0, yv) / 10)
                                  : tick_label(yv, ystep);
    const auto ts = text_size(s, 0.45);
    text(m, s, {left - 8 - ts.width, y + ts.height / 2}, 0.45, kInk);
  }
  cv::rectangle(m, {left, top}, {right, bottom}, kInk, 1);
  if (!o.x_label.empty()) {
    const auto ts = text_size(o.x_label, 0.5);
    text(m, o.x_label, {(left + right - ts.width) / 2, o.height - 16}, 0.5, kInk);
  }
  if (!o.y_label.empty()) text(m, o.y_label, {8, top - 12}, 0.5, kInk);

  // Lines, clipped to the plot area.
  cv::Mat area = m(cv::Rect(left, top, right - left + 1, bottom - top + 1));
  for (size_t si = 0; si < series.size(); ++si) {
    const Series& s = series[si];
    const cv::Scalar c = rgb(series_colour(si));
    bool have_prev = false;
    cv::Point prev;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !ok(s.y[i])) {
        have_prev = false;
        continue;
      }
      const double y = o.log_y ? std::log10(s.y[i]) : s.y[i];
      const cv::Point p(static_cast<int>(std::lround(px(s.x[i]))) - left,
                        static_cast<int>(std::lround(py(y))) - top);
      if (have_prev) cv::line(area, prev, p, c, 2, cv::LINE_AA);
      if (s.x.size() <= 60) cv::circle(area, p, 3, c, cv::FILLED, cv::LINE_AA);
      prev = p;
      have_prev = true;
    }
  }
  // Legend: top-right, inside the plot area.
  int lw = 0;
  for (const Series& s : series) lw = std::max(lw, text_size(s.name, 0.5).width);
  const int lx = right - lw - 46, ly = top + 10;
  cv::rectangle(m, {lx - 6, ly - 4}, {right - 6, ly + 22 * static_cast<int>(series.size()) + 2},
                cv::Scalar(255, 255, 255), cv::FILLED);
  cv::rectangle(m, {lx - 6, ly - 4}, {right - 6, ly + 22 * static_cast<int>(series.size()) + 2},
                kGrid, 1);
  for (size_t si = 0; si < series.size(); ++si) {
    const int y = ly + 11 + 22 * static_cast<int>(si);
    cv::line(m, {lx, y}, {lx + 26, y}, rgb(series_colour(si)), 3, cv::LINE_AA);
    text(m, series[si].name, {lx + 34, y + 5}, 0.5, kInk);
  }
  return img;
}

std::array<uint8_t, 3> heat_colour(double t) {
  if (!std::isfinite(t)) return {220, 220, 220};
  t = std::clamp(t, 0.0, 1.0);
  // White (255, 255, 255) -> dark blue (8, 48, 107), linear in RGB.
  auto mix = [&](double a, double b) { return static_cast<uint8_t>(std::lround(a + (b - a) * t)); };
  return {mix(255, 8), mix(255, 48), mix(255, 107)};
}

HeatMapLayout heat_map_layout(const std::vector<std::string>& row_names,
                              const std::vector<std::string>& col_names, const HeatMapOptions& o) {
  POSEFER_CHECK_CONFIG(o.cell >= 16, "heat_map: cell size ", o.cell, " is too small (min 16)");
  int row_w = 0;
  for (const auto& n : row_names) row_w = std::max(row_w, text_size(n, 0.5).width);
  int col_h = 0;
  for (const auto& n : col_names) col_h = std::max(col_h, text_size(n, 0.5).width);
  HeatMapLayout l;
  l.cell = o.cell;
  l.left = 36 + row_w + 10;
  l.top = (o.title.empty() ? 16 : 48) + 24 + col_h + 10;  // column names are written upwards
  l.width = l.left + o.cell * static_cast<int>(col_names.size()) + 16;
  l.height = l.top + o.cell * static_cast<int>(row_names.size()) + 16;
  l.width = std::max(l.width, text_size(o.title, 0.6, 2).width + 32);
  return l;
}

void validate_heat_map(const std::vector<std::vector<double>>& values,
                       const std::vector<std::string>& row_names,
                       const std::vector<std::string>& col_names, const HeatMapOptions& o) {
  POSEFER_CHECK_CONFIG(o.cell >= 16, "heat_map: cell size ", o.cell, " is too small (min 16)");
  POSEFER_CHECK_SHAPE(!values.empty() && values.size() == row_names.size(),
                      "heat_map: ", values.size(), " rows of values but ", row_names.size(),
                      " row names");
  for (size_t r = 0; r < values.size(); ++r) {
    POSEFER_CHECK_SHAPE(values[r].size() == col_names.size() && !col_names.empty(), "heat_map: row ",
                        r, " has ", values[r].size(), " values but there are ", col_names.size(),
                        " column names");
  }
}

RgbImage heat_map(const std::vector<std::vector<double>>& values,
                  const std::vector<std::string>& row_names,
                  const std::vector<std::string>& col_names, const HeatMapOptions& o) {
  validate_heat_map(values, row_names, col_names, o);
  double vmax = 0;
  for (const auto& row : values)
    for (double v : row)
      if (std::isfinite(v)) vmax = std::max(vmax, v);
  const HeatMapLayout l = heat_map_layout(row_names, col_names, o);
  RgbImage img(l.width, l.height, 255);
  cv::Mat m = view(img);
  if (!o.title.empty()) text(m, o.title, {16, 30}, 0.6, kInk, 2);
  for (size_t r = 0; r < values.size(); ++r) {
    const int y = l.top + l.cell * static_cast<int>(r);
    const auto ts = text_size(row_names[r], 0.5);
    text(m, row_names[r], {l.left - 10 - ts.width, y + (l.cell + ts.height) / 2}, 0.5, kInk);
    for (size_t c = 0; c < values[r].size(); ++c) {
      const int x = l.left + l.cell * static_cast<int>(c);
      const double v = values[r][c];
      const double t = std::isfinite(v) ? (vmax > 0 ? v / vmax : 0.0) : NAN;
      cv::rectangle(m, {x, y}, {x + l.cell - 1, y + l.cell - 1}, rgb(heat_colour(t)), cv::FILLED);
      const std::string s = format_number(o.percent ? 100 * v : v, o.decimals);
      const auto vs = text_size(s, 0.45);
      const cv::Scalar ink = std::isfinite(t) && t > 0.5 ? cv::Scalar(255, 255, 255) : kInk;
      text(m, s, {x + (l.cell - vs.width) / 2, y + (l.cell + vs.height) / 2}, 0.45, ink);
    }
  }
  cv::rectangle(m, {l.left - 1, l.top - 1},
                {l.left + l.cell * static_cast<int>(col_names.size()),
                 l.top + l.cell * static_cast<int>(row_names.size())},
                kInk, 1);
  // Column names written bottom-to-top: draw horizontally into a strip, then rotate it.
  for (size_t c = 0; c < col_names.size(); ++c) {
    const auto ts = text_size(col_names[c], 0.5);
    cv::Mat strip(ts.height + 8, ts.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    text(strip, col_names[c], {2, ts.height + 2}, 0.5, kInk);
    cv::Mat up;
    cv::rotate(strip, up, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x = l.left + l.cell * static_cast<int>(c) + (l.cell - up.cols) / 2;
    const int y = l.top - 8 - up.rows;
    if (x >= 0 && y >= 0 && x + up.cols <= m.cols) up.copyTo(m(cv::Rect(x, y, up.cols, up.rows)));
  }
  // Axis captions.
  text(m, o.col_label, {l.left, (o.title.empty() ? 16 : 48) + 12}, 0.5, kInk);
  cv::Mat cap(text_size(o.row_label, 0.5).height + 8, text_size(o.row_label, 0.5).width + 4, CV_8UC3,
              cv::Scalar(255, 255, 255));
  text(cap, o.row_label, {2, cap.rows - 6}, 0.5, kInk);
  cv::Mat cap_up;
  cv::rotate(cap, cap_up, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int cy = l.top + (l.cell * static_cast<int>(row_names.size()) - cap_up.rows) / 2;
  if (cy >= 0 && cy + cap_up.rows <= m.rows) cap_up.copyTo(m(cv::Rect(8, cy, cap_up.cols, cap_up.rows)));
  return img;
}

void PlotConfig::validate() const {
  POSEFER_CHECK_CONFIG(backend == "auto" || backend == "gnuplot" || backend == "builtin",
                       "plot backend must be auto, gnuplot or builtin, got '", backend, "'");
  POSEFER_CHECK_CONFIG(!gnuplot.empty(), "plot: the gnuplot executable is empty");
}

std::string resolve_plot_backend(const PlotConfig& c) {
  c.validate();
  if (c.backend == "builtin") return "builtin";
  if (gnuplot_available(c.gnuplot)) return "gnuplot";
  POSEFER_CHECK_CONFIG(c.backend == "auto", "plot backend gnuplot: '", c.gnuplot,
                       " --version' does not run (scripts/setup.sh installs gnuplot-nox; or use the builtin backend)");
  return "builtin";
}

namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) { write_bytes_atomic(path, text.data(), text.size()); }

// Draws with gnuplot into a temporary PNG beside `path`, renames it over `path` and keeps the
// script as <stem>.gp. `script(output)` makes the script for a given output name. Returns false
// (after a warning) when gnuplot failed and the backend was "auto".
template <class MakeScript>
bool draw_with_gnuplot(const std::string& path, const PlotConfig& c, const MakeScript& script) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fs::create_directories(dir);
  const std::string stem = target.stem().string();
  const std::string tag = "." + stem + ".tmp." + std::to_string(::getpid());
  const std::string tmp_png = tag + ".png", tmp_gp = tag + ".gp";
  write_text((dir / tmp_gp).string(), script(tmp_png));
  std::error_code ec;
  try {
    run_gnuplot(c.gnuplot, dir.string(), tmp_gp);
    POSEFER_CHECK(fs::exists(dir / tmp_png), "gnuplot wrote no image for ", path);
  } catch (const Error& e) {
    fs::remove(dir / tmp_gp, ec);
    fs::remove(dir / tmp_png, ec);
    if (c.backend != "auto") throw Error("drawing " + path + ": " + e.what());
    spdlog::warn("drawing {} with gnuplot failed ({}); using the built-in drawing", path, e.what());
    return false;
  }
  fs::remove(dir / tmp_gp, ec);
  fs::rename(dir / tmp_png, target, ec);
  if (ec) {
    fs::remove(dir / tmp_png, ec);
    throw Error("drawing " + path + ": cannot move the image into place: " + ec.message());
  }
  if (c.keep_script) write_text((dir / (stem + ".gp")).string(), script(target.filename().string()));
  return true;
}

}  // namespace

std::string write_line_chart(const std::string& path, const std::vector<Series>& series,
                             const LineChartOptions& options, const PlotConfig& config) {
  validate_line_chart(series, options);
  if (resolve_plot_backend(config) == "gnuplot" &&
      draw_with_gnuplot(path, config, [&](const std::string& out) {
        return gnuplot_line_script(series, options, out);
      }))
    return "gnuplot";
  write_rgb_png(path, line_chart(series, options));
  return "builtin";
}

std::string write_heat_map(const std::string& path, const std::vector<std::vector<double>>& values,
                           const std::vector<std::string>& row_names,
                           const std::vector<std::string>& col_names, const HeatMapOptions& options,
                           const PlotConfig& config) {
  validate_heat_map(values, row_names, col_names, options);
  if (resolve_plot_backend(config) == "gnuplot" &&
      draw_with_gnuplot(path, config, [&](const std::string& out) {
        return gnuplot_heat_script(values, row_names, col_names, options, out);
      }))
    return "gnuplot";
  write_rgb_png(path, heat_map(values, row_names, col_names, options));
  return "builtin";
}

}  // namespace posefer
