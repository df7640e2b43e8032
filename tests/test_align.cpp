// Tests of face alignment: the least-squares similarity fit and the aligned crop.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "posefer/face/align.h"
#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

SimilarityTransform known_transform() {
  SimilarityTransform t;  // scale 1.7, rotation 0.35 rad, translation (12.5, -40.25)
  t.a = 1.7 * std::cos(0.35);
  t.b = 1.7 * std::sin(0.35);
  t.tx = 12.5;
  t.ty = -40.25;
  return t;
}

// 68 landmarks whose five alignment points are exactly `five` (the eye rings are all at the
// eye centre; other points lie on a line so they are easy to check after the transform).
Landmarks68 landmarks_with(const std::vector<Point2d>& five) {
  Landmarks68 lm(68);
  for (int i = 0; i < 68; ++i) lm[i] = {100.0 + i, 200.0 - 0.5 * i};
  for (int i = 36; i <= 41; ++i) lm[i] = five[0];
  for (int i = 42; i <= 47; ++i) lm[i] = five[1];
  lm[30] = five[2];
  lm[48] = five[3];
  lm[54] = five[4];
  return lm;
}

TEST(FaceAlign, FitRecoversKnownSimilarityExactly) {
  const auto t = known_transform();
  const std::vector<Point2d> src = {{10, 20}, {55, 18}, {33, 41}, {15, 70}, {60, 66}, {-5, 3}};
  std::vector<Point2d> dst;
  for (const auto& p : src) dst.push_back(t.apply(p));
  const auto fit = fit_similarity(src, dst);
  EXPECT_NEAR(fit.a, t.a, 1e-12);
  EXPECT_NEAR(fit.b, t.b, 1e-12);
  EXPECT_NEAR(fit.tx, t.tx, 1e-10);
  EXPECT_NEAR(fit.ty, t.ty, 1e-10);
  EXPECT_NEAR(fit.scale(), 1.7, 1e-12);
  // inverse() really inverts
  const auto back = fit.inverse().apply(fit.apply({3.25, -7.5}));
  EXPECT_NEAR(back.x, 3.25, 1e-12);
  EXPECT_NEAR(back.y, -7.5, 1e-12);
}

TEST(FaceAlign, FitIsLeastSquares) {
  // Noisy correspondences: the residual must not drop under small perturbations of the fit.
  const auto t = known_transform();
  const std::vector<Point2d> src = {{0, 0}, {10, 0}, {0, 10}, {10, 10}, {5, 3}};
  const double noise[5][2] = {{0.3, -0.2}, {-0.1, 0.4}, {0.2, 0.1}, {-0.4, -0.3}, {0.1, 0.2}};
  std::vector<Point2d> dst;
  for (size_t i = 0; i < src.size(); ++i) {
    auto p = t.apply(src[i]);
    dst.push_back({p.x + noise[i][0], p.y + noise[i][1]});
  }
  auto residual = [&](const SimilarityTransform& s) {
    double r = 0;
    for (size_t i = 0; i < src.size(); ++i) {
      const auto p = s.apply(src[i]);
      r += std::pow(p.x - dst[i].x, 2) + std::pow(p.y - dst[i].y, 2);
    }
    return r;
  };
  const auto fit = fit_similarity(src, dst);
  const double best = residual(fit);
  EXPECT_GT(best, 0.0);
  for (int k = 0; k < 4; ++k) {
    for (double eps : {-1e-3, 1e-3}) {
      auto s = fit;
      (k == 0 ? s.a : k == 1 ? s.b : k == 2 ? s.tx : s.ty) += eps;
      EXPECT_GT(residual(s), best) << "parameter " << k;
    }
  }
  EXPECT_THROW(fit_similarity({{1, 1}, {1, 1}}, {{0, 0}, {2, 2}}), ShapeError);
  EXPECT_THROW(fit_similarity({{1, 1}}, {{0, 0}}), ShapeError);
}

TEST(FaceAlign, AlignRecoversSyntheticTransformAndCropsThere) {
  AlignConfig cfg;
  cfg.size = 64;
  const auto tmpl = alignment_template(cfg);
  ASSERT_EQ(tmpl.size(), 5u);
  // Template points lie inside the crop, eyes level and symmetric-ish.
  for (const auto& p : tmpl) {
    EXPECT_GT(p.x, 0);
    EXPECT_LT(p.x, 64);
  }
  const auto t = known_transform();  // photo -> crop
  const auto inv = t.inverse();
  std::vector<Point2d> five;
  for (const auto& p : tmpl) five.push_back(inv.apply(p));
  const auto lm = landmarks_with(five);

  // A 3-channel photo, black except a white 9x9 square around the photo point of crop (32, 32).
  auto image = torch::zeros({3, 200, 240}, torch::kUInt8);
  const auto centre = inv.apply({32, 32});
  const int cx = static_cast<int>(std::lround(centre.x)), cy = static_cast<int>(std::lround(centre.y));
  ASSERT_TRUE(cx > 10 && cx < 230 && cy > 10 && cy < 190) << cx << "," << cy;
  image.slice(1, cy - 4, cy + 5).slice(2, cx - 4, cx + 5).fill_(255);

  const auto a = align_face(image, lm, cfg);
  EXPECT_NEAR(a.transform.a, t.a, 1e-9);
  EXPECT_NEAR(a.transform.b, t.b, 1e-9);
  EXPECT_NEAR(a.transform.tx, t.tx, 1e-7);
  EXPECT_NEAR(a.transform.ty, t.ty, 1e-7);
  ASSERT_EQ(a.image.sizes(), torch::IntArrayRef({3, 64, 64}));
  EXPECT_EQ(a.image.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(a.image.min().item<float>(), -1.f, 1e-6);
  EXPECT_NEAR(a.image[0][32][32].item<float>(), 1.f, 1e-6);  // the white square lands at (32, 32)
  EXPECT_NEAR(a.image[1][5][5].item<float>(), -1.f, 1e-6);
  // Landmarks kept in both frames; the five points land on the template.
  ASSERT_EQ(a.crop_landmarks.size(), 68u);
  EXPECT_NEAR(a.crop_landmarks[30].x, tmpl[2].x, 1e-7);
  EXPECT_NEAR(a.crop_landmarks[54].y, tmpl[4].y, 1e-7);
  EXPECT_NEAR(a.landmarks[0].x, 100.0, 0);
  const auto back = a.transform.inverse().apply(a.crop_landmarks[5]);
  EXPECT_NEAR(back.x, lm[5].x, 1e-7);
  EXPECT_NEAR(back.y, lm[5].y, 1e-7);

  // Grey output from a colour photo.
  cfg.channels = 1;
  EXPECT_EQ(align_face(image, lm, cfg).image.sizes(), torch::IntArrayRef({1, 64, 64}));
}

TEST(FaceAlign, RejectsBadInput) {
  const auto image = torch::zeros({3, 10, 10}, torch::kUInt8);
  AlignConfig cfg;
  EXPECT_THROW_MSG(align_face(image, Landmarks68(5), cfg), ShapeError, "68 landmarks, got 5");
  cfg.size = 0;
  EXPECT_THROW_MSG(align_face(image, Landmarks68(68), cfg), ConfigError, "align size");
  cfg.size = 32;
  EXPECT_THROW(align_face(torch::zeros({3, 10, 10}), landmarks_with({{1, 1}, {5, 1}, {3, 3}, {2, 5}, {4, 5}}), cfg),
               ShapeError);
}

}  // namespace
}  // namespace posefer
