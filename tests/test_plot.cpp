#include "posefer/report/plot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

bool has_colour(const RgbImage& img, const std::array<uint8_t, 3>& c, int x0, int y0, int x1, int y1) {
  for (int y = std::max(0, y0); y < std::min(img.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x1); ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] == c[0] && p[1] == c[1] && p[2] == c[2]) return true;
    }
  return false;
}

TEST(Plot, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 1, 6), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  EXPECT_EQ(nice_ticks(0, 100, 6), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(nice_ticks(1, 30, 4), (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(nice_ticks(-3, 3, 7), (std::vector<double>{-3, -2, -1, 0, 1, 2, 3}));
  EXPECT_EQ(nice_ticks(2.5, 2.5), (std::vector<double>{2.5}));
  const auto t = nice_ticks(0.013, 0.0871, 6);
  ASSERT_GE(t.size(), 3u);
  EXPECT_NEAR(t[1] - t[0], 0.02, 1e-12);
  EXPECT_GE(t.front(), 0.013);
  EXPECT_LE(t.back(), 0.0871);
  EXPECT_THROW_MSG(nice_ticks(2, 1), ConfigError, "lo <= hi");
  EXPECT_THROW_MSG(nice_ticks(0, 1, 1), ConfigError, "max_ticks must be >= 2");
}

TEST(Plot, LineChartDrawsEverySeriesInItsColour) {
  Series a{"rising", {1, 2, 3, 4}, {0.1, 0.2, 0.3, 0.4}};
  Series b{"falling", {1, 2, 3, 4}, {0.4, 0.3, NAN, 0.1}};
  LineChartOptions o;
  o.width = 400;
  o.height = 300;
  o.title = "losses";
  const RgbImage img = line_chart({a, b}, o);
  ASSERT_EQ(img.width, 400);
  ASSERT_EQ(img.height, 300);
  // Both palette colours appear inside the plot area (legend swatches are at the top right,
  // so look in the lower-left half where only the lines are).
  EXPECT_TRUE(has_colour(img, series_colour(0), 80, 150, 250, 260));
  EXPECT_TRUE(has_colour(img, series_colour(1), 80, 60, 250, 260));
  EXPECT_FALSE(has_colour(img, series_colour(2), 0, 0, 400, 300));
  // Background stays white in the top-left corner.
  EXPECT_EQ(img.at(2, 2)[0], 255);
}

TEST(Plot, LineChartRejectsBadInput) {
  LineChartOptions o;
  EXPECT_THROW_MSG(line_chart({}, o), ShapeError, "no series");
  EXPECT_THROW_MSG(line_chart({Series{"s", {1, 2}, {1}}}, o), ShapeError, "series 's' has 2 x values but 1 y");
  EXPECT_THROW_MSG(line_chart({Series{"s", {1}, {NAN}}}, o), ShapeError, "no finite point");
  o.log_y = true;
  EXPECT_THROW_MSG(line_chart({Series{"s", {1, 2}, {0, -1}}}, o), ShapeError, "no finite point");
  o.width = 50;
  EXPECT_THROW_MSG(line_chart({Series{"s", {1}, {1}}}, o), ConfigError, "too small");
}

TEST(Plot, FormatNumber) {
  EXPECT_EQ(format_number(0.12345, 3), "0.123");
  EXPECT_EQ(format_number(2, 0), "2");
  EXPECT_EQ(format_number(NAN, 2), "-");
  EXPECT_EQ(format_number(INFINITY, 2), "-");
}

TEST(Plot, HeatColourEnds) {
  EXPECT_EQ(heat_colour(0), (std::array<uint8_t, 3>{255, 255, 255}));
  EXPECT_EQ(heat_colour(1), (std::array<uint8_t, 3>{8, 48, 107}));
  EXPECT_EQ(heat_colour(7), heat_colour(1));
  EXPECT_EQ(heat_colour(NAN), (std::array<uint8_t, 3>{220, 220, 220}));
}

TEST(Plot, HeatMapCellsCarryScaledColours) {
  const std::vector<std::vector<double>> v{{4, 0}, {2, NAN}};
  HeatMapOptions o;
  o.title = "confusion";
  const RgbImage img = heat_map(v, {"a", "b"}, {"a", "b"}, o);
  const HeatMapLayout l = heat_map_layout({"a", "b"}, {"a", "b"}, o);
  ASSERT_EQ(img.width, l.width);
  ASSERT_EQ(img.height, l.height);
  // A pixel near each cell's top-left corner (away from the centred number).
  auto cell = [&](int r, int c) {
    const uint8_t* p = img.at(l.left + c * l.cell + 3, l.top + r * l.cell + 3);
    return std::array<uint8_t, 3>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(cell(0, 0), heat_colour(1.0));
  EXPECT_EQ(cell(0, 1), heat_colour(0.0));
  EXPECT_EQ(cell(1, 0), heat_colour(0.5));
  EXPECT_EQ(cell(1, 1), heat_colour(NAN));
}

TEST(Plot, HeatMapRejectsMismatchedNames) {
  HeatMapOptions o;
  EXPECT_THROW_MSG(heat_map({}, {}, {}, o), ShapeError, "0 rows of values");
  EXPECT_THROW_MSG(heat_map({{1, 2}}, {"a"}, {"a"}, o), ShapeError, "row 0 has 2 values but there are 1");
  EXPECT_THROW_MSG(heat_map({{1}}, {"a", "b"}, {"a"}, o), ShapeError, "1 rows of values but 2 row names");
  o.cell = 4;
  EXPECT_THROW_MSG(heat_map({{1}}, {"a"}, {"a"}, o), ConfigError, "cell size 4");
}

}  // namespace
}  // namespace posefer
