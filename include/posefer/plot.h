// Small PNG charts for reports: line charts (loss curves, accuracy curves) and annotated heat
// maps (confusion matrices). Drawn with OpenCV into an RgbImage, so a report needs no plotting
// tool at run time; write them with write_rgb_png (make_faces.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "posefer/render.h"

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

// An annotated heat map of values[r][c] (colour scaled by the largest finite value; each cell
// shows its value). Throws ShapeError when values is empty, ragged, or its size does not match
// the names.
RgbImage heat_map(const std::vector<std::vector<double>>& values,
                  const std::vector<std::string>& row_names,
                  const std::vector<std::string>& col_names, const HeatMapOptions& options);

}  // namespace posefer
