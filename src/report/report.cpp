#include "posefer/report/report.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/io/image_io.h"

namespace posefer {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

}  // namespace

std::vector<double> NumericTable::column(const std::string& name) const {
  const auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) throw InputError("no column '" + name + "' in the table");
  const size_t c = static_cast<size_t>(it - columns.begin());
  std::vector<double> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r[c]);
  return out;
}

bool NumericTable::has(const std::string& name) const {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

NumericTable read_numeric_csv(const std::string& path) {
  NumericTable t;
  for (const csv::Record& rec : csv::parse(read_text_file(path), path)) {
    if (t.columns.empty()) {
      t.columns = rec.fields;
      continue;
    }
    POSEFER_CHECK_INPUT(rec.fields.size() == t.columns.size(), path, " line ", rec.line, ": expected ",
                        t.columns.size(), " fields, got ", rec.fields.size());
    std::vector<double> row;
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      const std::string& c = rec.fields[i];
      if (c.empty()) {
        row.push_back(NAN);
        continue;
      }
      char* end = nullptr;
      const double v = std::strtod(c.c_str(), &end);
      POSEFER_CHECK_INPUT(end && *end == '\0', path, " line ", rec.line, ": column '", t.columns[i],
                          "' is not a number: '", c, "'");
      row.push_back(v);
    }
    t.rows.push_back(std::move(row));
  }
  POSEFER_CHECK_INPUT(!t.columns.empty(), path, ": empty file (no header)");
  return t;
}

namespace {

std::vector<Series> epoch_series(const NumericTable& epochs, const std::vector<std::string>& columns) {
  const auto x = epochs.column("epoch");
  std::vector<Series> series;
  for (const auto& c : columns) {
    if (!epochs.has(c)) continue;
    series.push_back(Series{c, x, epochs.column(c)});
  }
  POSEFER_CHECK_SHAPE(!series.empty(), "epoch_chart: none of the requested columns is in the table");
  return series;
}

// Row percentages (NaN rows for classes without test faces) and the chart's options.
std::vector<std::vector<double>> confusion_fractions(const ClassificationReport& report) {
  const size_t n = report.class_names.size();
  POSEFER_CHECK_SHAPE(n > 0 && report.confusion.size() == n, "confusion_chart: ", report.confusion.size(),
                      " confusion rows for ", n, " classes");
  std::vector<std::vector<double>> pct(n, std::vector<double>(n, NAN));
  for (size_t r = 0; r < n; ++r) {
    double total = 0;
    for (int64_t v : report.confusion[r]) total += static_cast<double>(v);
    if (total == 0) continue;
    for (size_t c = 0; c < n; ++c) pct[r][c] = static_cast<double>(report.confusion[r][c]) / total;
  }
  return pct;
}

HeatMapOptions confusion_options(const std::string& title) {
  HeatMapOptions o;
  o.title = title;
  o.percent = true;
  o.decimals = 0;
  o.row_label = "true";
  o.col_label = "predicted (% of the true class)";
  return o;
}

}  // namespace

RgbImage epoch_chart(const NumericTable& epochs, const std::vector<std::string>& columns,
                     const LineChartOptions& options) {
  return line_chart(epoch_series(epochs, columns), options);
}

RgbImage confusion_chart(const ClassificationReport& report, const std::string& title) {
  return heat_map(confusion_fractions(report), report.class_names, report.class_names, confusion_options(title));
}

std::string write_epoch_chart(const std::string& path, const NumericTable& epochs,
                              const std::vector<std::string>& columns, const LineChartOptions& options,
                              const PlotConfig& plot) {
  return write_line_chart(path, epoch_series(epochs, columns), options, plot);
}

std::string write_confusion_chart(const std::string& path, const ClassificationReport& report,
                                  const std::string& title, const PlotConfig& plot) {
  return write_heat_map(path, confusion_fractions(report), report.class_names, report.class_names,
                        confusion_options(title), plot);
}

RgbImage labelled_grid(const torch::Tensor& images, const std::vector<std::string>& row_names,
                       const std::vector<std::string>& col_names, const std::string& title) {
  const int64_t rows = static_cast<int64_t>(row_names.size()), cols = static_cast<int64_t>(col_names.size());
  POSEFER_CHECK_SHAPE(images.defined() && images.dim() == 4 && images.size(0) == rows * cols && rows > 0 &&
                          cols > 0 && (images.size(1) == 1 || images.size(1) == 3),
                      "labelled_grid: expected ", rows, " x ", cols, " images [M, 1|3, H, W], got ",
                      images.defined() ? images.sizes() : c10::IntArrayRef{});
  auto u8 = images.scalar_type() == torch::kUInt8 ? images : to_uint8(images.to(torch::kFloat));
  auto grid = tile_images(u8.cpu(), static_cast<int>(rows), static_cast<int>(cols), 2, 1.f);
  if (grid.size(0) == 1) grid = grid.expand({3, grid.size(1), grid.size(2)});
  grid = grid.permute({1, 2, 0}).contiguous();  // H, W, 3 (RGB)
  const int gh = static_cast<int>(grid.size(0)), gw = static_cast<int>(grid.size(1));
  const int tile_w = static_cast<int>(images.size(3)), tile_h = static_cast<int>(images.size(2));
  const double scale = 0.4;
  int base = 0, left = 8, top = title.empty() ? 8 : 30;
  for (const auto& r : row_names) left = std::max(left, cv::getTextSize(r, kFont, scale, 1, &base).width + 12);
  const int label_h = 18;
  top += label_h;
  const int title_w = title.empty() ? 0 : cv::getTextSize(title, kFont, 0.5, 1, &base).width;
  RgbImage img(std::max(left + gw + 8, title_w + 8), top + gh + 8, 255);
  cv::Mat m(img.height, img.width, CV_8UC3, img.pixels.data());
  const cv::Scalar ink(40, 40, 40);
  if (!title.empty()) {
    cv::putText(m, title, {std::min(left, img.width - title_w - 4), 20}, kFont, 0.5, ink, 1, cv::LINE_AA);
  }
  for (int64_t c = 0; c < cols; ++c) {
    std::string s = col_names[c];
    // Shorten names wider than a tile so neighbours stay readable.
    while (s.size() > 3 && cv::getTextSize(s, kFont, scale, 1, &base).width > tile_w) s.pop_back();
    const int w = cv::getTextSize(s, kFont, scale, 1, &base).width;
    const int x = left + static_cast<int>(c) * (tile_w + 2) + (tile_w - w) / 2;
    cv::putText(m, s, {x, top - 5}, kFont, scale, ink, 1, cv::LINE_AA);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const auto sz = cv::getTextSize(row_names[r], kFont, scale, 1, &base);
    const int y = top + static_cast<int>(r) * (tile_h + 2) + (tile_h + sz.height) / 2;
    cv::putText(m, row_names[r], {left - 6 - sz.width, y}, kFont, scale, ink, 1, cv::LINE_AA);
  }
  cv::Mat src(gh, gw, CV_8UC3, grid.data_ptr<uint8_t>());
  src.copyTo(m(cv::Rect(left, top, gw, gh)));
  return img;
}

RgbImage hconcat(const std::vector<RgbImage>& images, int gap) {
  POSEFER_CHECK_SHAPE(!images.empty(), "hconcat: no images");
  int w = 0, h = 0;
  for (const auto& im : images) {
    w += im.width;
    h = std::max(h, im.height);
  }
  w += gap * static_cast<int>(images.size() - 1);
  RgbImage out(w, h, 255);
  int x0 = 0;
  for (const auto& im : images) {
    for (int y = 0; y < im.height; ++y) {
      std::copy(im.at(0, y), im.at(0, y) + 3 * im.width, out.at(x0, y));
    }
    x0 += im.width + gap;
  }
  return out;
}

}  // namespace posefer
