// The seven basic expressions as action-unit settings (parametric_face.h).
#include <string>

#include "posefer/core/check.h"
#include "posefer/render/parametric_face.h"

namespace posefer {

std::string expression_name(Expression e) {
  switch (e) {
    case Expression::kNeutral: return "neutral";
    case Expression::kHappy: return "happy";
    case Expression::kSad: return "sad";
    case Expression::kAngry: return "angry";
    case Expression::kFear: return "fear";
    case Expression::kDisgust: return "disgust";
    case Expression::kSurprise: return "surprise";
  }
  return "neutral";
}

Expression parse_expression(const std::string& name) {
  for (int i = 0; i < kNumExpressions; ++i) {
    if (expression_name(Expression(i)) == name) return Expression(i);
  }
  if (name == "fearful") return Expression::kFear;
  if (name == "disgusted") return Expression::kDisgust;
  if (name == "surprised") return Expression::kSurprise;
  throw ConfigError("unknown expression '" + name +
                    "' (expected neutral, happy, sad, angry, fear, disgust or surprise)");
}

float intensity_scale(int intensity) {
  POSEFER_CHECK_CONFIG(intensity >= 1 && intensity <= 4, "expression intensity ", intensity,
                       " out of range 1..4");
  static constexpr float kScale[4] = {0.45f, 0.65f, 0.85f, 1.f};
  return kScale[intensity - 1];
}

ActionUnits expression_action_units(Expression e, int intensity) {
  const float k = intensity_scale(intensity);
  ActionUnits a;
  switch (e) {
    case Expression::kNeutral: return a;
    case Expression::kHappy:
      a.cheek_raise = 0.9f; a.lip_corner_pull = 1.f; a.jaw_drop = 0.3f; a.lid_tighten = 0.15f;
      break;
    case Expression::kSad:
      a.inner_brow_raise = 1.f; a.brow_lower = 0.35f; a.lip_corner_depress = 1.f;
      a.upper_lid_raise = -0.5f; a.lip_press = 0.2f;
      break;
    case Expression::kAngry:
      a.brow_lower = 1.f; a.lid_tighten = 0.8f; a.lip_press = 1.f;
      a.lip_corner_depress = 0.2f;
      break;
    case Expression::kFear:
      a.inner_brow_raise = 1.f; a.outer_brow_raise = 0.5f; a.brow_lower = 0.35f;
      a.upper_lid_raise = 1.f; a.lip_stretch = 1.f; a.jaw_drop = 0.4f;
      break;
    case Expression::kDisgust:
      a.nose_wrinkle = 1.f; a.upper_lip_raise = 1.f; a.brow_lower = 0.6f; a.lid_tighten = 0.5f;
      a.cheek_raise = 0.4f; a.lip_corner_depress = 0.35f;
      break;
    case Expression::kSurprise:
      a.inner_brow_raise = 1.f; a.outer_brow_raise = 1.f; a.upper_lid_raise = 1.f; a.jaw_drop = 1.f;
      break;
  }
  for (float* v : {&a.inner_brow_raise, &a.outer_brow_raise, &a.brow_lower, &a.upper_lid_raise,
                   &a.cheek_raise, &a.lid_tighten, &a.nose_wrinkle, &a.upper_lip_raise,
                   &a.lip_corner_pull, &a.lip_corner_depress, &a.lip_stretch, &a.lip_press,
                   &a.jaw_drop}) {
    *v *= k;
  }
  return a;
}


}  // namespace posefer
