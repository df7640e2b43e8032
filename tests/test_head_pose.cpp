// Tests of the landmark head-pose regressor on synthetic 3-D faces with known yaw and pitch.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "posefer/core/check.h"
#include "posefer/face/head_pose.h"
#include "head_pose_test_util.h"
#include "test_support.h"

namespace posefer {
namespace {

TEST(FaceHeadPose, RecoversYawAndPitchOfSyntheticFaces) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  const auto face = test::synthetic_face_3d(rng);
  const auto train = test::synthetic_pose_samples(face, rng, 300, 30, 15);
  const auto& lms = train.landmarks;
  const auto& yaws = train.yaw;
  const auto& pitches = train.pitch;
  const auto model = fit_head_pose(lms, yaws, pitches, 1e-3);
  double mae_yaw = 0, mae_pitch = 0;
  for (int k = 0; k < 50; ++k) {
    const double yaw = 30 * u(rng), pitch = 15 * u(rng);
    const auto [py, pp] = model.predict(test::project_face(face, yaw, pitch, 90, -0.1, 250, 260));
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
