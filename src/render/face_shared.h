// Helpers the parametric face's sources share (face_layout.h, face_identity.cpp,
// parametric_face.cpp): constants of the head's geometry, small maths, the portable generator.
// Internal to src/render/.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "posefer/core/splitmix.h"
#include "posefer/render/parametric_face.h"

namespace posefer::face_detail {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kFrontMinZ = 0.22f;   // the textured front mesh covers directions with z >= this
constexpr float kBackMaxZ = 0.30f;    // the back mesh covers directions with z <= this
constexpr float kHeadShiftY = 0.17f;  // moves the head so the face centre is near the origin

inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
// Hermite step from e0 to e1 (e1 < e0 allowed: a descending step).
inline float smoothstep(float e0, float e1, float x) {
  const float t = clampf((x - e0) / (e1 - e0), 0.f, 1.f);
  return t * t * (3.f - 2.f * t);
}
inline float sq(float v) { return v * v; }
inline float gauss2(float dx, float dy) { return std::exp(-(dx * dx + dy * dy)); }

// A small portable generator, so identities are the same on every platform.
using Rng = SplitMix64;

inline Vec3 palette(const std::vector<Vec3>& colours, float t) {
  const float f = clampf(t, 0.f, 1.f) * float(colours.size() - 1);
  const int i = std::min(int(f), int(colours.size()) - 2);
  return lerp(colours[i], colours[i + 1], f - float(i));
}

inline Vec3 clamp_colour(Vec3 c) {
  return {clampf(c.x, 0.f, 1.f), clampf(c.y, 0.f, 1.f), clampf(c.z, 0.f, 1.f)};
}

// Unit direction for a face-plane point (front hemisphere).
inline Vec3 dir_of(float x, float y) {
  return {x, y, std::sqrt(std::max(0.f, 1.f - x * x - y * y))};
}

// Coverage of a soft shape from a signed distance (< 0 inside) and the edge half-width.
inline float coverage(float signed_dist, float aa) { return clampf(0.5f - signed_dist / (2.f * aa), 0.f, 1.f); }

// Distance from p to the segment a-b (2D).
inline float segment_distance(float px, float py, float ax, float ay, float bx, float by) {
  const float vx = bx - ax, vy = by - ay;
  const float t = clampf(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy + 1e-12f), 0.f, 1.f);
  return std::sqrt(sq(px - ax - t * vx) + sq(py - ay - t * vy));
}

}  // namespace posefer::face_detail
