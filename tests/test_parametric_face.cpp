#include "posefer/render/parametric_face.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

FaceRender render_person(int index, Expression e, HeadPose pose, int size = 128) {
  const FaceIdentity who = face_identity(11, index);
  const ActionUnits au = e == Expression::kNeutral ? ActionUnits{} : expression_action_units(e, 4);
  FaceRenderOptions ro;
  ro.size = size;
  ro.supersample = 2;
  return render_face(build_face(who, au), pose, ro);
}

float luminance(const RgbImage& img, float x, float y) {
  const uint8_t* p = img.at(int(x), int(y));
  return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

double mean_abs_diff(const RgbImage& a, const RgbImage& b) {
  double s = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return s / double(a.pixels.size());
}

TEST(ParametricFace, SameSeedGivesTheSameBytes) {
  const FaceIdentity a = face_identity(5, 3), b = face_identity(5, 3);
  EXPECT_EQ(a.head_width, b.head_width);
  EXPECT_EQ(a.hair_style, b.hair_style);
  EXPECT_EQ(a.skin.x, b.skin.x);
  const FaceRender r1 = render_person(2, Expression::kHappy, {15.f, -15.f}, 64);
  const FaceRender r2 = render_person(2, Expression::kHappy, {15.f, -15.f}, 64);
  EXPECT_EQ(r1.image.pixels, r2.image.pixels);
  for (int k = 0; k < 68; ++k) EXPECT_EQ(r1.landmarks[k].x, r2.landmarks[k].x);
}

TEST(ParametricFace, DifferentIdentitiesDiffer) {
  const FaceIdentity a = face_identity(1, 0), b = face_identity(1, 1), c = face_identity(2, 0);
  EXPECT_NE(a.head_width, b.head_width);
  EXPECT_NE(a.nose_length, c.nose_length);
  const FaceRender ra = render_person(0, Expression::kNeutral, {}, 64);
  const FaceRender rb = render_person(1, Expression::kNeutral, {}, 64);
  EXPECT_GT(mean_abs_diff(ra.image, rb.image), 5.0);
}

TEST(ParametricFace, ExpressionsChangeTheImage) {
  const FaceRender neutral = render_person(0, Expression::kNeutral, {}, 64);
  for (int e = 1; e < kNumExpressions; ++e) {
    const FaceRender r = render_person(0, Expression(e), {}, 64);
    EXPECT_GT(mean_abs_diff(neutral.image, r.image), 0.8) << expression_name(Expression(e));
  }
}

TEST(ParametricFace, EyeLandmarksLandOnTheDarkIrisInAFrontalFace) {
  for (int person = 0; person < 4; ++person) {
    const FaceRender r = render_person(person, Expression::kNeutral, {});
    const float bridge = luminance(r.image, r.landmarks[28].x, r.landmarks[28].y);
    for (int eye = 0; eye < 2; ++eye) {
      float x = 0, y = 0;
      for (int k = 36 + 6 * eye; k < 42 + 6 * eye; ++k) {
        EXPECT_TRUE(r.visible[k]) << "landmark " << k;
        x += r.landmarks[k].x / 6.f;
        y += r.landmarks[k].y / 6.f;
      }
      const float lum = luminance(r.image, x, y);
      EXPECT_LT(lum, 90.f) << "person " << person << " eye " << eye;
      EXPECT_LT(lum, 0.7f * bridge) << "person " << person << " eye " << eye;
    }
    // Subject's right eye is on the image left; the inner corners lie between the outer ones.
    EXPECT_LT(r.landmarks[36].x, r.landmarks[39].x);
    EXPECT_LT(r.landmarks[39].x, r.landmarks[42].x);
    EXPECT_LT(r.landmarks[42].x, r.landmarks[45].x);
  }
}

TEST(ParametricFace, LandmarksFollowTheIbugLayoutInAFrontalFace) {
  const FaceRender r = render_person(1, Expression::kNeutral, {});
  int visible = 0;
  for (int k = 0; k < 68; ++k) visible += r.visible[k];
  EXPECT_GE(visible, 64);
  for (int k = 17; k < 68; ++k) EXPECT_TRUE(r.visible[k]) << "landmark " << k;
  // Vertical order: brows above eyes above nose tip above mouth above chin.
  EXPECT_LT(r.landmarks[19].y, r.landmarks[37].y);
  EXPECT_LT(r.landmarks[37].y, r.landmarks[30].y);
  EXPECT_LT(r.landmarks[30].y, r.landmarks[51].y);
  EXPECT_LT(r.landmarks[51].y, r.landmarks[57].y);
  EXPECT_LT(r.landmarks[57].y, r.landmarks[8].y);
  // Left-right symmetry about the nose within a couple of pixels.
  const float mid = r.landmarks[30].x;
  EXPECT_NEAR(mid - r.landmarks[36].x, r.landmarks[45].x - mid, 2.f);
  EXPECT_NEAR(mid - r.landmarks[48].x, r.landmarks[54].x - mid, 2.f);
  EXPECT_NEAR(mid, 64.f, 2.f);
}

TEST(ParametricFace, SurpriseOpensTheMouth) {
  const FaceRender n = render_person(2, Expression::kNeutral, {});
  const FaceRender s = render_person(2, Expression::kSurprise, {});
  const float gap_n = n.landmarks[66].y - n.landmarks[62].y;
  const float gap_s = s.landmarks[66].y - s.landmarks[62].y;
  EXPECT_LT(gap_n, 1.f);
  EXPECT_GT(gap_s, gap_n + 6.f);
  // Inside the open mouth (below the upper teeth) it is dark.
  const float mx = 0.5f * (s.landmarks[62].x + s.landmarks[66].x);
  float darkest = 255.f;
  for (float f = 0.1f; f < 0.9f; f += 0.05f) {
    darkest = std::min(darkest, luminance(s.image, mx, s.landmarks[62].y + f * gap_s));
  }
  EXPECT_LT(darkest, 50.f);
  // Happy pulls the corners up relative to the lip centre; sad pushes them down.
  const FaceRender h = render_person(2, Expression::kHappy, {});
  const FaceRender d = render_person(2, Expression::kSad, {});
  const auto corner_lift = [](const FaceRender& r) {
    return r.landmarks[51].y - 0.5f * (r.landmarks[48].y + r.landmarks[54].y);  // > 0: corners up
  };
  EXPECT_GT(corner_lift(h), corner_lift(n) + 3.f);
  EXPECT_LT(corner_lift(d), corner_lift(n) - 2.f);
}

TEST(ParametricFace, LandmarksShiftWithTheYawSign) {
  for (float yaw : {-30.f, 30.f}) {
    const FaceRender r = render_person(3, Expression::kNeutral, {yaw, 0.f});
    const float eyes_mid = 0.5f * (r.landmarks[39].x + r.landmarks[42].x);
    const float jaw_mid = 0.5f * (r.landmarks[0].x + r.landmarks[16].x);
    // The nose tip stands out toward the side the face turns to.
    EXPECT_GT((r.landmarks[30].x - eyes_mid) * yaw, 0.f) << "yaw " << yaw;
    EXPECT_GT((r.landmarks[30].x - jaw_mid) * yaw, 0.f) << "yaw " << yaw;
    // Left-right order of the eyes is kept.
    EXPECT_LT(r.landmarks[36].x, r.landmarks[45].x);
  }
  // At 45 degrees the far side's jaw contour is hidden and the near side's is visible.
  const FaceRender right = render_person(3, Expression::kNeutral, {45.f, 0.f});
  const FaceRender left = render_person(3, Expression::kNeutral, {-45.f, 0.f});
  EXPECT_TRUE(right.visible[2]);
  EXPECT_FALSE(right.visible[15]);
  EXPECT_TRUE(left.visible[14]);
  EXPECT_FALSE(left.visible[1]);
}

TEST(ParametricFace, ExpressionsAndIntensities) {
  EXPECT_EQ(expression_name(Expression::kSurprise), "surprise");
  EXPECT_EQ(parse_expression("fear"), Expression::kFear);
  EXPECT_EQ(parse_expression("disgusted"), Expression::kDisgust);
  EXPECT_THROW_MSG(parse_expression("bored"), ConfigError, "unknown expression 'bored'");
  const ActionUnits n = expression_action_units(Expression::kNeutral, 4);
  EXPECT_EQ(n.jaw_drop, 0.f);
  EXPECT_EQ(n.lip_corner_pull, 0.f);
  const ActionUnits h4 = expression_action_units(Expression::kHappy, 4);
  const ActionUnits h2 = expression_action_units(Expression::kHappy, 2);
  EXPECT_FLOAT_EQ(h4.lip_corner_pull, 1.f);
  EXPECT_FLOAT_EQ(h2.lip_corner_pull, 0.65f);
  EXPECT_GT(h4.cheek_raise, 0.f);
  const ActionUnits s = expression_action_units(Expression::kSurprise, 4);
  EXPECT_FLOAT_EQ(s.jaw_drop, 1.f);
  EXPECT_FLOAT_EQ(s.upper_lid_raise, 1.f);
  EXPECT_GT(expression_action_units(Expression::kAngry, 3).brow_lower, 0.8f);
  EXPECT_THROW_MSG(expression_action_units(Expression::kSad, 5), ConfigError, "intensity 5");
}

TEST(ParametricFace, PosePresetsAndLists) {
  const auto bu = parse_poses("bu3dfe");
  ASSERT_EQ(bu.size(), 35u);
  int found = 0;
  for (const auto& p : bu) found += (p.yaw_deg == 45.f && p.pitch_deg == -30.f);
  EXPECT_EQ(found, 1);
  const auto mp = parse_poses("multipie");
  ASSERT_EQ(mp.size(), 5u);
  EXPECT_EQ(mp.front().yaw_deg, -30.f);
  EXPECT_EQ(mp.back().yaw_deg, 30.f);
  const auto list = parse_poses("0:15,-30");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].pitch_deg, 15.f);
  EXPECT_EQ(list[1].yaw_deg, -30.f);
  EXPECT_EQ(list[1].pitch_deg, 0.f);
  EXPECT_EQ(pose_name({15.f, -30.f}), "p+15_t-30");
  EXPECT_EQ(pose_name({0.f, 0.f}), "p+0_t+0");
  EXPECT_THROW_MSG(parse_poses("left"), ConfigError, "bad pose 'left'");
  EXPECT_THROW_MSG(parse_poses("0:100"), ConfigError, "out of range");
  EXPECT_THROW_MSG(parse_poses(""), ConfigError, "empty pose list");
}

TEST(ParametricFace, RejectsBadOptions) {
  FaceBuildOptions bo;
  bo.texture_size = 8;
  EXPECT_THROW_MSG(build_face(face_identity(1, 0), {}, bo), ConfigError, "texture_size 8");
  FaceRenderOptions ro;
  ro.size = 2;
  EXPECT_THROW_MSG(render_face(build_face(face_identity(1, 0), {}), {}, ro), ConfigError,
                   "face image size 2");
}

}  // namespace
}  // namespace posefer

namespace posefer {
namespace {

// Grey 32x32 frontal render, z-scored (mean 0, unit variance): a crude but label-free feature.
std::vector<float> frontal_feature(int person, Expression e) {
  const FaceIdentity who = face_identity(21, person);
  const ActionUnits au = e == Expression::kNeutral ? ActionUnits{} : expression_action_units(e, 4);
  FaceBuildOptions bo;
  bo.texture_size = 128;
  bo.grid = 48;
  FaceRenderOptions ro;
  ro.size = 32;
  ro.supersample = 2;
  const FaceRender r = render_face(build_face(who, au, bo), {}, ro);
  std::vector<float> f;
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) f.push_back(luminance(r.image, float(x), float(y)));
  }
  double m = 0, v = 0;
  for (float a : f) m += a;
  m /= double(f.size());
  for (float a : f) v += (a - m) * (a - m);
  const float sd = float(std::sqrt(v / double(f.size()))) + 1e-3f;
  for (float& a : f) a = (a - float(m)) / sd;
  return f;
}

TEST(ParametricFace, FrontalNearestCentroidSeparatesTheSevenExpressions) {
  // Centroids from 6 people, tested on 6 others: a trivial classifier must beat chance (1/7)
  // by far if the expressions are visible.
  const int train = 6, test = 6;
  std::vector<std::vector<float>> centroid(kNumExpressions, std::vector<float>(32 * 32, 0.f));
  for (int p = 0; p < train; ++p) {
    for (int e = 0; e < kNumExpressions; ++e) {
      const auto f = frontal_feature(p, Expression(e));
      for (size_t i = 0; i < f.size(); ++i) centroid[e][i] += f[i] / train;
    }
  }
  int correct = 0;
  for (int p = train; p < train + test; ++p) {
    for (int e = 0; e < kNumExpressions; ++e) {
      const auto f = frontal_feature(p, Expression(e));
      int best = -1;
      double best_d = 1e30;
      for (int c = 0; c < kNumExpressions; ++c) {
        double d = 0;
        for (size_t i = 0; i < f.size(); ++i) d += (f[i] - centroid[c][i]) * (f[i] - centroid[c][i]);
        if (d < best_d) best_d = d, best = c;
      }
      correct += best == e;
    }
  }
  const double accuracy = double(correct) / (test * kNumExpressions);
  std::printf("frontal nearest-centroid accuracy: %.2f (chance 0.14)\n", accuracy);
  EXPECT_GT(accuracy, 0.6);
}

}  // namespace
}  // namespace posefer
