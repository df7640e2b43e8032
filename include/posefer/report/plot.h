// Small PNG charts for reports: line charts (loss curves, accuracy curves) and annotated heat
// maps (confusion matrices).
//
// write_line_chart / write_heat_map draw with gnuplot (gnuplot.h; installed by scripts/setup.sh)
// and keep its self-contained script beside the PNG, so a chart can be restyled or re-rendered
// as PDF for a paper. Where gnuplot is absent they fall back to the built-in drawing below
// (OpenCV primitives into an RgbImage), so a report never depends on it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "posefer/core/rgb_image.h"

namespace posefer {

// One line of a chart: points (x[i], y[i]). Non-finite y values (and y <= 0 on a log axis)
// leave a gap in the line.
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

struct LineChartOptions {
  std::string title;          // drawn above the plot area
  std::string x_label;        // under the x axis
  std::string y_label;        // above the y axis, left-aligned
  bool log_y = false;         // logarithmic y axis (losses spanning decades)
  int width = 900;            // image size in pixels
  int height = 520;
};

// v with `decimals` decimals ("%.*f"), or "-" when v is not finite (NaN: not measured).
std::string format_number(double v, int decimals);

// Axis ticks at "nice" steps (1, 2 or 5 x 10^k) covering [lo, hi] with at most `max_ticks`
// ticks inside the range. lo == hi gives {lo}. Throws ConfigError if lo > hi or max_ticks < 2.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks = 6);

// The colour of series i (a fixed, colour-blind-friendly palette, cycling), RGB.
std::array<uint8_t, 3> series_colour(size_t i);

// Throws what line_chart would for these inputs (below), without drawing.
void validate_line_chart(const std::vector<Series>& series, const LineChartOptions& options);

// A line chart with axes, ticks, grid and a legend. Throws ShapeError when there is no series,
// a series' x and y differ in length, or no finite point exists; ConfigError for sizes < 200.
RgbImage line_chart(const std::vector<Series>& series, const LineChartOptions& options);

struct HeatMapOptions {
  std::string title;                 // drawn above the matrix
  std::string row_label = "true";    // what rows are
  std::string col_label = "predicted";  // what columns are
  int cell = 60;                     // cell side in pixels
  int decimals = 0;                  // decimals of the value written in each cell
  bool percent = false;              // values are fractions: cells show 100 * value
};

// Cell colour for t in [0, 1] (white -> dark blue), RGB; t is clamped; NaN gives light grey.
std::array<uint8_t, 3> heat_colour(double t);

// Where the heat map draws cell (r, c): its top-left pixel; cells are options.cell square.
struct HeatMapLayout {
  int left = 0;      // x of column 0
  int top = 0;       // y of row 0
  int cell = 0;
  int width = 0;     // image size
  int height = 0;
};
HeatMapLayout heat_map_layout(const std::vector<std::string>& row_names,
                              const std::vector<std::string>& col_names, const HeatMapOptions& options);

// Throws what heat_map would for these inputs (below), without drawing.
void validate_heat_map(const std::vector<std::vector<double>>& values,
                       const std::vector<std::string>& row_names,
                       const std::vector<std::string>& col_names, const HeatMapOptions& options);

// An annotated heat map of values[r][c] (colour scaled by the largest finite value; each cell
// shows its value). Throws ShapeError when values is empty, ragged, or its size does not match
// the names.
RgbImage heat_map(const std::vector<std::vector<double>>& values,
                  const std::vector<std::string>& row_names,
                  const std::vector<std::string>& col_names, const HeatMapOptions& options);

// Which program draws report charts.
struct PlotConfig {
  std::string backend = "auto";     // auto (gnuplot when it runs, else builtin) | gnuplot | builtin
  std::string gnuplot = "gnuplot";  // gnuplot executable: a name on PATH or a path
  bool keep_script = true;          // gnuplot: keep <chart>.gp (script + data) beside <chart>.png
  // Throws ConfigError naming the field for an unknown backend or an empty executable.
  void validate() const;
};

// "gnuplot" or "builtin": what `config` draws with here (auto: gnuplot if `gnuplot --version`
// runs). Throws ConfigError when backend is "gnuplot" and it does not run.
std::string resolve_plot_backend(const PlotConfig& config);

// Write the chart as a PNG at `path` (atomically; parent folders created) and return the backend
// that drew it. With gnuplot the script is kept as <path without .png>.gp when keep_script. On
// "auto", a gnuplot failure is logged as a warning and the built-in drawing is used instead; on
// "gnuplot" it is thrown (Error naming the chart). Bad series / values throw as line_chart /
// heat_map do.
std::string write_line_chart(const std::string& path, const std::vector<Series>& series,
                             const LineChartOptions& options, const PlotConfig& config);
std::string write_heat_map(const std::string& path, const std::vector<std::vector<double>>& values,
                           const std::vector<std::string>& row_names,
                           const std::vector<std::string>& col_names, const HeatMapOptions& options,
                           const PlotConfig& config);

}  // namespace posefer
