// Tests of the landmark head-pose regressor on synthetic 3-D faces with known yaw and pitch.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "posefer/check.h"
#include "posefer/head_pose.h"
#include "test_support.h"

namespace posefer {
namespace {

// A fixed random 3-D "face" of 68 points, rotated by yaw then pitch (degrees) and projected
// orthographically, then scaled/shifted/rolled in the image (which the features must ignore).
Landmarks68 project(const std::vector<std::array<double, 3>>& face, double yaw, double pitch,
                    double scale, double roll, double dx, double dy) {
  const double y = yaw * M_PI / 180, p = pitch * M_PI / 180;
  Landmarks68 lm(68);
  for (int i = 0; i < 68; ++i) {
    const auto [x0, y0, z0] = face[i];
    const double x1 = x0 * std::cos(y) + z0 * std::sin(y), z1 = -x0 * std::sin(y) + z0 * std::cos(y);
    const double y2 = y0 * std::cos(p) - z1 * std::sin(p);
    lm[i] = {dx + scale * (x1 * std::cos(roll) - y2 * std::sin(roll)),
             dy + scale * (x1 * std::sin(roll) + y2 * std::cos(roll))};
  }
  return lm;
}

TEST(FaceHeadPose, RecoversYawAndPitchOfSyntheticFaces) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<std::array<double, 3>> face(68);
  for (auto& p : face) p = {u(rng), u(rng), 0.5 * u(rng)};
  // Eyes, nose, mouth corners placed like a face so the alignment is well posed.
  for (int i = 36; i <= 41; ++i) face[i] = {-0.4 + 0.02 * u(rng), -0.3, 0.2};
  for (int i = 42; i <= 47; ++i) face[i] = {0.4 + 0.02 * u(rng), -0.3, 0.2};
  face[30] = {0, 0.1, 0.6};
  face[48] = {-0.3, 0.5, 0.2};
  face[54] = {0.3, 0.5, 0.2};
  std::vector<Landmarks68> lms;
  std::vector<double> yaws, pitches;
  for (int k = 0; k < 300; ++k) {
    const double yaw = 30 * u(rng), pitch = 15 * u(rng);
    lms.push_back(project(face, yaw, pitch, 80 + 20 * u(rng), 0.2 * u(rng), 300 + 50 * u(rng), 200 + 50 * u(rng)));
    yaws.push_back(yaw);
    pitches.push_back(pitch);
  }
  const auto model = fit_head_pose(lms, yaws, pitches, 1e-3);
  double mae_yaw = 0, mae_pitch = 0;
  for (int k = 0; k < 50; ++k) {
    const double yaw = 30 * u(rng), pitch = 15 * u(rng);
    const auto [py, pp] = model.predict(project(face, yaw, pitch, 90, -0.1, 250, 260));
    mae_yaw += std::abs(py - yaw) / 50;
    mae_pitch += std::abs(pp - pitch) / 50;
  }
  EXPECT_LT(mae_yaw, 2.0);
  EXPECT_LT(mae_pitch, 2.0);
  // The model survives a JSON round trip.
  const auto again = HeadPoseModel::from_json(model.to_json());
  const auto a = model.predict(lms[0]), b = again.predict(lms[0]);
  EXPECT_DOUBLE_EQ(a.first, b.first);
  EXPECT_DOUBLE_EQ(a.second, b.second);
  EXPECT_THROW_MSG(HeadPoseModel::from_json({{"lambda", 1}}), InputError, "malformed head pose model");
  EXPECT_THROW(fit_head_pose(lms, yaws, {1.0}, 1.0), ShapeError);
}

}  // namespace
}  // namespace posefer
