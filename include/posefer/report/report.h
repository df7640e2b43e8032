// Building blocks of human-readable reports: a run's numeric CSV logs, loss / confusion charts
// and labelled image grids (PNG via plot.h / make_faces.h). The text of a report: document.h.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/metrics/metrics.h"
#include "posefer/report/plot.h"
#include "posefer/core/rgb_image.h"

namespace posefer {

// A CSV of numbers with a header row, e.g. a run's epochs.csv or log.csv. Empty cells are NaN.
struct NumericTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // each row has columns.size() values
  // The values of one column. Throws InputError naming the column when it is absent.
  std::vector<double> column(const std::string& name) const;
  bool has(const std::string& name) const;
};

// Throws InputError "<path> line L: ..." for a missing file, a ragged row or a non-number.
NumericTable read_numeric_csv(const std::string& path);

// Per-epoch curves of `columns` from a run's epochs.csv (x = "epoch"). Columns missing from
// the table are skipped; throws ShapeError when none is present.
RgbImage epoch_chart(const NumericTable& epochs, const std::vector<std::string>& columns,
                     const LineChartOptions& options);

// The confusion matrix of `report` as a heat map of row percentages (each true class sums to
// 100%), titled `title`.
RgbImage confusion_chart(const ClassificationReport& report, const std::string& title);

// The same two charts written as PNG files through `plot` (gnuplot or built-in, plot.h); return
// the backend that drew them.
std::string write_epoch_chart(const std::string& path, const NumericTable& epochs,
                              const std::vector<std::string>& columns, const LineChartOptions& options,
                              const PlotConfig& plot);
std::string write_confusion_chart(const std::string& path, const ClassificationReport& report,
                                  const std::string& title, const PlotConfig& plot);

// Tiles images [R * Cn, C, N, N] (row-major; float in [-1, 1] or uint8; C = 1 or 3) into a grid
// with `row_names` on the left, `col_names` above and `title` on top. Missing cells may be
// filled by the caller with any constant image. Throws ShapeError when the count of images
// is not row_names.size() * col_names.size().
RgbImage labelled_grid(const torch::Tensor& images, const std::vector<std::string>& row_names,
                       const std::vector<std::string>& col_names, const std::string& title);

// Places images side by side, top-aligned, `gap` white pixels apart.
RgbImage hconcat(const std::vector<RgbImage>& images, int gap = 16);

}  // namespace posefer
