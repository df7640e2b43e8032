// Synthetic 3-D faces for the head-pose tests: 68 landmarks of a fixed random face, rotated by a
// known yaw and pitch and projected.
#pragma once

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "posefer/face/landmark68.h"

namespace posefer::test {

// A fixed random 3-D "face" of 68 points, with eyes, nose and mouth corners placed like a face
// so that the alignment is well posed.
inline std::vector<std::array<double, 3>> synthetic_face_3d(std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<std::array<double, 3>> face(68);
  for (auto& p : face) p = {u(rng), u(rng), 0.5 * u(rng)};
  for (int i = 36; i <= 41; ++i) face[i] = {-0.4 + 0.02 * u(rng), -0.3, 0.2};
  for (int i = 42; i <= 47; ++i) face[i] = {0.4 + 0.02 * u(rng), -0.3, 0.2};
  face[30] = {0, 0.1, 0.6};
  face[48] = {-0.3, 0.5, 0.2};
  face[54] = {0.3, 0.5, 0.2};
  return face;
}

// `face` rotated by yaw then pitch (degrees) and projected orthographically, then scaled, rolled
// (radians) and shifted in the image (which head-pose features must ignore).
inline Landmarks68 project_face(const std::vector<std::array<double, 3>>& face, double yaw,
                                double pitch, double scale, double roll, double dx, double dy) {
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

// n projections of `face` at uniform random yaw in [-max_yaw, max_yaw] and pitch in
// [-max_pitch, max_pitch] (degrees), with random scale, roll and shift in the image.
struct PoseSamples {
  std::vector<Landmarks68> landmarks;
  std::vector<double> yaw, pitch;
};
inline PoseSamples synthetic_pose_samples(const std::vector<std::array<double, 3>>& face, std::mt19937& rng,
                                          int n, double max_yaw, double max_pitch) {
  std::uniform_real_distribution<double> u(-1, 1);
  PoseSamples out;
  for (int k = 0; k < n; ++k) {
    const double yaw = max_yaw * u(rng), pitch = max_pitch * u(rng);
    const double scale = 80 + 20 * u(rng), roll = 0.2 * u(rng);
    const double dx = 300 + 50 * u(rng), dy = 200 + 50 * u(rng);
    out.landmarks.push_back(project_face(face, yaw, pitch, scale, roll, dx, dy));
    out.yaw.push_back(yaw);
    out.pitch.push_back(pitch);
  }
  return out;
}

}  // namespace posefer::test
