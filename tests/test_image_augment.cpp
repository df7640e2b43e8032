#include "posefer/data/image_augment.h"

#include <gtest/gtest.h>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

torch::Tensor ramp_images(int64_t b, int64_t c, int64_t n) {
  // A left-to-right ramp plus a row term: no symmetry, so a flip or shift shows.
  auto x = torch::linspace(-0.9, 0.9, n).view({1, 1, 1, n}) + 0.05 * torch::linspace(-1, 1, n).view({1, 1, n, 1});
  return x.expand({b, c, n, n}).contiguous();
}

TEST(ImageAugment, DrawsAreSeededAndInRange) {
  AugmentConfig cfg;
  cfg.flip = true;
  cfg.shift = 0.1;
  cfg.scale = 0.2;
  cfg.rotate = 15;
  cfg.brightness = 0.3;
  cfg.contrast = 0.4;
  cfg.erase = 0.5;
  std::mt19937_64 a(5), b(5), c(6);
  const auto da = draw_augment(200, cfg, a), db = draw_augment(200, cfg, b), dc = draw_augment(200, cfg, c);
  int flips = 0, erases = 0, differ = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    EXPECT_EQ(da[i].flip, db[i].flip);
    EXPECT_EQ(da[i].tx, db[i].tx);
    EXPECT_EQ(da[i].angle, db[i].angle);
    differ += da[i].tx != dc[i].tx ? 1 : 0;
    EXPECT_LE(std::abs(da[i].tx), 0.1);
    EXPECT_LE(std::abs(da[i].ty), 0.1);
    EXPECT_GE(da[i].zoom, 0.8);
    EXPECT_LE(da[i].zoom, 1.2);
    EXPECT_LE(std::abs(da[i].angle), 15.0);
    EXPECT_LE(std::abs(da[i].brightness), 0.3);
    EXPECT_NEAR(da[i].contrast, 1.0, 0.4);
    flips += da[i].flip;
    if (da[i].erase) {
      ++erases;
      EXPECT_GE(da[i].ex, 0.0);
      EXPECT_LE(da[i].ex + da[i].ew, 1.0 + 1e-12);
      EXPECT_LE(da[i].ey + da[i].eh, 1.0 + 1e-12);
      EXPECT_GE(da[i].ew * da[i].eh, 0.02 * 0.999);
    }
  }
  EXPECT_GT(differ, 190);            // another seed, other draws
  EXPECT_NEAR(flips, 100, 25);       // half
  EXPECT_NEAR(erases, 100, 25);      // probability 0.5
  // Each draw takes the same count of numbers whatever is on: switching flip off keeps the shifts.
  AugmentConfig no_flip = cfg;
  no_flip.flip = false;
  std::mt19937_64 d(5);
  const auto dd = draw_augment(200, no_flip, d);
  for (size_t i = 0; i < dd.size(); ++i) {
    EXPECT_FALSE(dd[i].flip);
    EXPECT_EQ(dd[i].tx, da[i].tx);
  }
}

TEST(ImageAugment, IdentityDrawLeavesImagesAndPosesUnchanged) {
  const auto x = ramp_images(3, 1, 16);
  const auto pose = torch::tensor({0, 1, 2}, torch::kInt64);
  const auto [y, p] = apply_augment(x, pose, std::vector<AugmentDraw>(3), {2, 1, 0});
  EXPECT_TRUE(torch::equal(y, x));
  EXPECT_TRUE(torch::equal(p, pose));
}

TEST(ImageAugment, FlipMirrorsTheImageAndThePoseLabel) {
  const auto x = ramp_images(3, 3, 16);
  const auto pose = torch::tensor({0, 1, 2}, torch::kInt64);
  std::vector<AugmentDraw> draws(3);
  draws[0].flip = true;
  draws[2].flip = true;
  const auto [y, p] = apply_augment(x, pose, draws, {2, 1, 0});
  EXPECT_LT((y[0] - x[0].flip({2})).abs().max().item<double>(), 1e-5);
  EXPECT_LT((y[2] - x[2].flip({2})).abs().max().item<double>(), 1e-5);
  EXPECT_LT((y[1] - x[1]).abs().max().item<double>(), 1e-5);  // the identity resampling
  EXPECT_EQ(p[0].item<int64_t>(), 2);  // left <-> right
  EXPECT_EQ(p[1].item<int64_t>(), 1);
  EXPECT_EQ(p[2].item<int64_t>(), 0);
  // Without a mirror map the poses stay.
  const auto [y2, p2] = apply_augment(x, pose, draws, {});
  EXPECT_TRUE(torch::equal(p2, pose));
  // A pose outside the map is an error, not an out-of-bounds read.
  EXPECT_THROW_MSG(apply_augment(x, torch::tensor({5, 1, 2}, torch::kInt64), draws, {2, 1, 0}), ShapeError,
                   "outside the mirror map");
}

TEST(ImageAugment, ShiftMovesContentByTheDrawnFraction) {
  // A bright column at x = 8 of 32 moves to x = 12 under a shift of +1/8 of the side.
  auto x = torch::full({1, 1, 32, 32}, -1.0);
  x.select(3, 8).fill_(1.0);
  std::vector<AugmentDraw> d(1);
  d[0].tx = 0.125;
  const auto [y, p] = apply_augment(x, torch::zeros({1}, torch::kInt64), d, {});
  const auto col = y[0][0].mean(0);
  EXPECT_EQ(col.argmax().item<int64_t>(), 12);
  EXPECT_NEAR(col[12].item<double>(), 1.0, 1e-5);
}

TEST(ImageAugment, PhotometricJitterAndErasing) {
  auto x = ramp_images(2, 1, 20);
  std::vector<AugmentDraw> d(2);
  d[0].brightness = 0.2;
  d[0].contrast = 0.5;
  d[1].erase = true;
  d[1].ex = 0.25;
  d[1].ey = 0.5;
  d[1].ew = 0.25;
  d[1].eh = 0.2;
  const auto [y, p] = apply_augment(x, torch::zeros({2}, torch::kInt64), d, {});
  const auto mean = x[0].mean();
  const auto want = ((x[0] - mean) * 0.5 + mean + 0.2).clamp(-1, 1);
  EXPECT_LT((y[0] - want).abs().max().item<double>(), 1e-6);
  // Rows 10..13, columns 5..9 erased to 0 (mid grey); the rest untouched.
  EXPECT_EQ(y[1][0].narrow(0, 10, 4).narrow(1, 5, 5).abs().max().item<double>(), 0.0);
  auto rest = y[1].clone();
  auto ref = x[1].clone();
  rest[0].narrow(0, 10, 4).narrow(1, 5, 5).zero_();
  ref[0].narrow(0, 10, 4).narrow(1, 5, 5).zero_();
  EXPECT_TRUE(torch::equal(rest, ref));
  EXPECT_TRUE(torch::equal(x, ramp_images(2, 1, 20)));  // the input is not modified
}

TEST(ImageAugment, ShapeErrors) {
  const auto x = ramp_images(2, 1, 8);
  EXPECT_THROW_MSG(apply_augment(x, torch::zeros({3}, torch::kInt64), std::vector<AugmentDraw>(2), {}), ShapeError,
                   "do not fit");
  EXPECT_THROW_MSG(apply_augment(x, torch::zeros({2}, torch::kInt64), std::vector<AugmentDraw>(1), {}), ShapeError,
                   "1 draws");
}

TEST(ImageAugment, ConfigValidation) {
  AugmentConfig c;
  EXPECT_FALSE(c.any());
  c.erase = 0.1;
  EXPECT_TRUE(c.any());
  c.validate();
  c.rotate = 91;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "rotate");
  c.rotate = 0;
  c.shift = 0.6;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "shift");
}

}  // namespace
}  // namespace posefer
