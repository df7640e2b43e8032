#include "posefer/report/gnuplot.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "posefer/core/check.h"
#include "posefer/report/plot.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The lines of datablock `name` in a script (between "$name << EOD" and "EOD").
std::vector<std::string> block(const std::string& script, const std::string& name) {
  std::vector<std::string> lines;
  const std::string start = "$" + name + " << EOD\n";
  auto at = script.find(start);
  if (at == std::string::npos) return lines;
  at += start.size();
  const auto end = script.find("EOD\n", at);
  std::string body = script.substr(at, end - at);
  size_t p = 0;
  while (p < body.size()) {
    const auto nl = body.find('\n', p);
    lines.push_back(body.substr(p, nl - p));
    p = nl + 1;
  }
  return lines;
}

// Whether some pixel of a BGR image lies within `tol` of the RGB colour c.
bool has_near_colour(const cv::Mat& bgr, const std::array<uint8_t, 3>& c, int tol) {
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      const auto& p = bgr.at<cv::Vec3b>(y, x);
      if (std::abs(p[2] - c[0]) <= tol && std::abs(p[1] - c[1]) <= tol && std::abs(p[0] - c[2]) <= tol)
        return true;
    }
  return false;
}

// Skips the test when gnuplot is not installed (scripts/setup.sh installs gnuplot-nox).
#define REQUIRE_GNUPLOT()                                                                   \
  if (!gnuplot_available("gnuplot")) GTEST_SKIP() << "gnuplot is not installed (apt-get install gnuplot-nox)"

// A fake gnuplot: answers --version, fails every script with a located message.
fs::path fake_failing_gnuplot(const fs::path& dir) {
  const fs::path exe = dir / "fake_gnuplot.sh";
  std::ofstream(exe) << "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\n"
                        "echo '' >&2\necho '         \"'$1'\" line 7: undefined variable: oops' >&2\nexit 1\n";
  ::chmod(exe.c_str(), 0755);
  return exe;
}

TEST(Gnuplot, QuoteEscapesSingleQuotesAndNewlines) {
  EXPECT_EQ(gnuplot_quote("plain"), "'plain'");
  EXPECT_EQ(gnuplot_quote("it's"), "'it''s'");
  EXPECT_EQ(gnuplot_quote("a\nb"), "'a b'");
  EXPECT_EQ(gnuplot_quote("a_b \\n $x"), "'a_b \\n $x'");  // single quotes keep these literal
}

TEST(Gnuplot, LineScriptHoldsTheDataWithGaps) {
  LineChartOptions o;
  o.title = "loss's curve";
  o.x_label = "epoch";
  o.y_label = "L1";
  o.width = 640;
  o.height = 400;
  const std::vector<Series> s{{"a", {1, 2, 3, 4}, {0.5, NAN, 0.25, 0.125}}, {"b", {1, 2}, {3, 4}}};
  const std::string script = gnuplot_line_script(s, o, "out.png");
  EXPECT_NE(script.find("set terminal pngcairo size 640,400"), std::string::npos);
  EXPECT_NE(script.find("set output 'out.png'"), std::string::npos);
  EXPECT_NE(script.find("set title 'loss''s curve'"), std::string::npos);
  EXPECT_NE(script.find("set xlabel 'epoch'"), std::string::npos);
  EXPECT_EQ(script.find("logscale"), std::string::npos);
  // The NaN leaves a blank line (a break in the line), the other points stay in order.
  EXPECT_EQ(block(script, "s0"), (std::vector<std::string>{"1 0.5", "", "3 0.25", "4 0.125"}));
  EXPECT_EQ(block(script, "s1"), (std::vector<std::string>{"1 3", "2 4"}));
  // Each series in its palette colour, with its name.
  EXPECT_NE(script.find("lc rgb '#0072b2' title 'a'"), std::string::npos);
  EXPECT_NE(script.find("lc rgb '#d55e00' title 'b'"), std::string::npos);
  // A log axis drops y <= 0.
  o.log_y = true;
  const std::string log_script = gnuplot_line_script({{"c", {1, 2, 3}, {1, 0, 10}}}, o, "x.png");
  EXPECT_NE(log_script.find("set logscale y"), std::string::npos);
  EXPECT_EQ(block(log_script, "s0"), (std::vector<std::string>{"1 1", "", "3 10"}));
}

TEST(Gnuplot, ScriptsCheckTheirInputLikeTheBuiltinCharts) {
  LineChartOptions o;
  EXPECT_THROW_MSG(gnuplot_line_script({}, o, "x.png"), ShapeError, "no series");
  EXPECT_THROW_MSG(gnuplot_line_script({Series{"s", {1, 2}, {1}}}, o, "x.png"), ShapeError, "2 x values but 1 y");
  EXPECT_THROW_MSG(gnuplot_line_script({Series{"s", {1}, {NAN}}}, o, "x.png"), ShapeError, "no finite point");
  HeatMapOptions h;
  EXPECT_THROW_MSG(gnuplot_heat_script({{1, 2}}, {"a"}, {"a"}, h, "x.png"), ShapeError, "row 0 has 2 values");
  h.cell = 4;
  EXPECT_THROW_MSG(gnuplot_heat_script({{1}}, {"a"}, {"a"}, h, "x.png"), ConfigError, "cell size 4");
}

TEST(Gnuplot, HeatScriptLabelsEveryCell) {
  HeatMapOptions o;
  o.title = "confusion";
  o.percent = true;
  o.decimals = 0;
  const std::string script = gnuplot_heat_script({{0.75, 0.25}, {NAN, 0.1}}, {"happy", "sad"},
                                                 {"happy", "sad"}, o, "c.png");
  // x y value label white-ink; NaN is grey background and "-".
  EXPECT_EQ(block(script, "cells"), (std::vector<std::string>{"0 0 75 \"75\" 1", "1 0 25 \"25\" 0",
                                                               "0 1 NaN \"-\" 0", "1 1 10 \"10\" 0"}));
  EXPECT_NE(script.find("set xtics scale 0 rotate by 30 right ('happy' 0, 'sad' 1)"), std::string::npos);
  EXPECT_NE(script.find("set yrange [1.5:-0.5]"), std::string::npos);  // row 0 on top
  EXPECT_NE(script.find("set cbrange [0:75]"), std::string::npos);
  EXPECT_NE(script.find("'#08306b'"), std::string::npos);  // heat_colour(1)
}

TEST(Gnuplot, ConfigAndBackendChoice) {
  PlotConfig c;
  c.backend = "matplotlib";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "plot backend must be auto, gnuplot or builtin, got 'matplotlib'");
  c.backend = "builtin";
  EXPECT_EQ(resolve_plot_backend(c), "builtin");
  c.backend = "gnuplot";
  c.gnuplot = "/nonexistent/gnuplot";
  EXPECT_FALSE(gnuplot_available(c.gnuplot));
  EXPECT_THROW_MSG(resolve_plot_backend(c), ConfigError, "'/nonexistent/gnuplot --version' does not run");
  c.backend = "auto";
  EXPECT_EQ(resolve_plot_backend(c), "builtin");
}

TEST(Gnuplot, DrawsLineChartAndKeepsARunnableScript) {
  REQUIRE_GNUPLOT();
  const fs::path dir = test::fresh_dir("out");
  LineChartOptions o;
  o.title = "kN";
  o.width = 500;
  o.height = 320;
  const std::vector<Series> s{{"ours", {0, 1, 5, 10}, {40, 44, 47, 46}}, {"peer", {0, 10}, {41, 41}}};
  const fs::path png = dir / "kn_curve.png";
  EXPECT_EQ(write_line_chart(png.string(), s, o, PlotConfig{}), "gnuplot");
  cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 500);
  EXPECT_EQ(img.rows, 320);
  EXPECT_TRUE(has_near_colour(img, series_colour(0), 12));
  EXPECT_TRUE(has_near_colour(img, series_colour(1), 12));
  EXPECT_FALSE(has_near_colour(img, series_colour(2), 6));
  // Only the PNG and its script remain (no temp files), and the script re-renders the chart.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"kn_curve.gp", "kn_curve.png"}));
  EXPECT_NE(read_all(dir / "kn_curve.gp").find("set output 'kn_curve.png'"), std::string::npos);
  fs::remove(png);
  run_gnuplot("gnuplot", dir.string(), "kn_curve.gp");
  EXPECT_EQ(cv::imread(png.string()).cols, 500);
}

TEST(Gnuplot, RelativeOutputPath) {
  // Reports are often written to relative folders (runs/x/...): gnuplot runs inside the folder.
  REQUIRE_GNUPLOT();
  const fs::path rel = fs::path("posefer_gnuplot_rel_" + std::to_string(::getpid())) / "sub";
  fs::remove_all(rel.parent_path());
  LineChartOptions o;
  EXPECT_EQ(write_line_chart((rel / "c.png").string(), {{"a", {1, 2}, {1, 2}}}, o, PlotConfig{}), "gnuplot");
  EXPECT_EQ(cv::imread((rel / "c.png").string()).cols, o.width);
  EXPECT_TRUE(fs::is_regular_file(rel / "c.gp"));
  fs::remove_all(rel.parent_path());
}

TEST(Gnuplot, DrawsHeatMapInThePaletteColours) {
  REQUIRE_GNUPLOT();
  const fs::path dir = test::fresh_dir("out");
  HeatMapOptions o;
  o.title = "confusion";
  o.percent = true;
  PlotConfig c;
  c.keep_script = false;
  const fs::path png = dir / "confusion.png";
  EXPECT_EQ(write_heat_map(png.string(), {{0.9, 0.1}, {NAN, 1.0}}, {"a", "b"}, {"a", "b"}, o, c), "gnuplot");
  cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_GT(img.cols, 2 * o.cell);
  EXPECT_TRUE(has_near_colour(img, heat_colour(1.0), 4));  // the 100% cell
  EXPECT_TRUE(has_near_colour(img, heat_colour(NAN), 4));  // the empty cell
  EXPECT_FALSE(fs::exists(dir / "confusion.gp"));
}

TEST(Gnuplot, FailureKeepsTheOldChartOrFallsBack) {
  const fs::path dir = test::fresh_dir("out");
  const fs::path png = dir / "loss.png";
  std::ofstream(png) << "old chart";
  PlotConfig c;
  c.backend = "gnuplot";
  c.gnuplot = fake_failing_gnuplot(dir).string();
  LineChartOptions o;
  const std::vector<Series> s{{"l1", {1, 2}, {0.3, 0.2}}};
  EXPECT_THROW_MSG(write_line_chart(png.string(), s, o, c), Error, "line 7: undefined variable: oops");
  EXPECT_EQ(read_all(png), "old chart");  // nothing already written is lost
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename().string()[0] == '.';
  EXPECT_EQ(files, 0u) << "temporary files left behind";
  // "auto" draws the chart with the built-in plotter instead.
  c.backend = "auto";
  EXPECT_EQ(write_line_chart(png.string(), s, o, c), "builtin");
  cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, o.width);
  EXPECT_FALSE(fs::exists(dir / "loss.gp"));
}

TEST(Gnuplot, BuiltinBackendWritesNoScript) {
  const fs::path dir = test::fresh_dir("out");
  PlotConfig c;
  c.backend = "builtin";
  HeatMapOptions o;
  const fs::path png = dir / "m.png";
  EXPECT_EQ(write_heat_map(png.string(), {{1}}, {"a"}, {"a"}, o, c), "builtin");
  const HeatMapLayout l = heat_map_layout({"a"}, {"a"}, o);
  EXPECT_EQ(cv::imread(png.string()).cols, l.width);
  EXPECT_FALSE(fs::exists(dir / "m.gp"));
  EXPECT_THROW_MSG(write_heat_map(png.string(), {{1, 2}}, {"a"}, {"a"}, o, c), ShapeError, "row 0 has 2 values");
}

}  // namespace
}  // namespace posefer
