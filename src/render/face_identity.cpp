// Identity sampling: a seeded, platform-independent draw of head shape, features and colours
// (parametric_face.h).
#include <cmath>
#include <vector>

#include "face_shared.h"
#include "posefer/render/parametric_face.h"

namespace posefer {

using namespace face_detail;

FaceIdentity face_identity(uint64_t seed, int index) {
  Rng rng{seed * 0x9E3779B97F4A7C15ull ^ (uint64_t(uint32_t(index)) + 0x632BE59BD9B4E019ull)};
  rng.next();
  FaceIdentity f;
  f.head_width = rng.uniform(0.68f, 0.78f);
  f.head_height = rng.uniform(0.95f, 1.04f);
  f.head_depth = rng.uniform(0.8f, 0.92f);
  f.jaw_width = rng.uniform(0.76f, 1.0f);
  f.chin_length = rng.uniform(-0.04f, 0.06f);
  f.nose_length = rng.uniform(0.29f, 0.38f);
  f.nose_width = rng.uniform(0.105f, 0.16f);
  f.nose_height = rng.uniform(0.15f, 0.25f);
  f.eye_spacing = rng.uniform(0.33f, 0.4f);
  f.eye_size = rng.uniform(0.88f, 1.14f);
  f.mouth_width = rng.uniform(0.22f, 0.3f);
  f.lip_thickness = rng.uniform(0.7f, 1.35f);
  f.brow_thickness = rng.uniform(0.7f, 1.45f);
  f.brow_arch = rng.uniform(0.f, 1.f);
  f.brow_height = rng.uniform(-0.03f, 0.04f);
  f.hairline = rng.uniform(0.44f, 0.6f);
  f.hair_style = rng.below(5);
  f.ear_size = rng.uniform(0.9f, 1.15f);
  const float tone = std::pow(rng.uniform(0.f, 1.f), 1.4f);
  f.skin = palette({{0.96f, 0.80f, 0.70f}, {0.88f, 0.69f, 0.56f}, {0.76f, 0.55f, 0.40f},
                    {0.55f, 0.37f, 0.26f}, {0.36f, 0.24f, 0.17f}},
                   tone);
  f.skin = clamp_colour(mul(f.skin, Vec3{rng.uniform(0.96f, 1.04f), rng.uniform(0.96f, 1.04f),
                                         rng.uniform(0.95f, 1.05f)}));
  const std::vector<Vec3> hairs = {{0.06f, 0.05f, 0.05f}, {0.17f, 0.10f, 0.06f}, {0.33f, 0.21f, 0.12f},
                                   {0.50f, 0.24f, 0.11f}, {0.80f, 0.66f, 0.42f}, {0.62f, 0.60f, 0.58f}};
  const int hair_pick = tone > 0.55f ? rng.below(3) : rng.below(int(hairs.size()));
  f.hair = clamp_colour(hairs[hair_pick] * rng.uniform(0.85f, 1.15f));
  const std::vector<Vec3> irises = {{0.20f, 0.12f, 0.07f}, {0.38f, 0.23f, 0.10f}, {0.45f, 0.40f, 0.20f},
                                    {0.28f, 0.45f, 0.30f}, {0.30f, 0.46f, 0.66f}, {0.45f, 0.52f, 0.58f}};
  f.iris = irises[tone > 0.5f ? rng.below(2) : rng.below(int(irises.size()))];
  return f;
}


}  // namespace posefer
