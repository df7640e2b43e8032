#include "posefer/render/parametric_face.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "posefer/core/check.h"

namespace posefer {

namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kFrontMinZ = 0.22f;   // the textured front mesh covers directions with z >= this
constexpr float kBackMaxZ = 0.30f;    // the back mesh covers directions with z <= this
constexpr float kHeadShiftY = 0.17f;  // moves the head so the face centre is near the origin

float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
// Hermite step from e0 to e1 (e1 < e0 allowed: a descending step).
float smoothstep(float e0, float e1, float x) {
  const float t = clampf((x - e0) / (e1 - e0), 0.f, 1.f);
  return t * t * (3.f - 2.f * t);
}
float sq(float v) { return v * v; }
float gauss2(float dx, float dy) { return std::exp(-(dx * dx + dy * dy)); }

// splitmix64: a small portable generator, so identities are the same on every platform.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * float(double(next() >> 11) * (1.0 / 9007199254740992.0));
  }
  int below(int n) { return int(next() % uint64_t(n)); }
};

Vec3 palette(const std::vector<Vec3>& colours, float t) {
  const float f = clampf(t, 0.f, 1.f) * float(colours.size() - 1);
  const int i = std::min(int(f), int(colours.size()) - 2);
  return lerp(colours[i], colours[i + 1], f - float(i));
}

Vec3 clamp_colour(Vec3 c) {
  return {clampf(c.x, 0.f, 1.f), clampf(c.y, 0.f, 1.f), clampf(c.z, 0.f, 1.f)};
}

// Unit direction for a face-plane point (front hemisphere).
Vec3 dir_of(float x, float y) {
  return {x, y, std::sqrt(std::max(0.f, 1.f - x * x - y * y))};
}

// Coverage of a soft shape from a signed distance (< 0 inside) and the edge half-width.
float coverage(float signed_dist, float aa) { return clampf(0.5f - signed_dist / (2.f * aa), 0.f, 1.f); }

// Distance from p to the segment a-b (2D).
float segment_distance(float px, float py, float ax, float ay, float bx, float by) {
  const float vx = bx - ax, vy = by - ay;
  const float t = clampf(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy + 1e-12f), 0.f, 1.f);
  return std::sqrt(sq(px - ax - t * vx) + sq(py - ay - t * vy));
}

// Everything derived from identity + expression that geometry, paint and landmarks share.
// Face-plane coordinates: x in [-1, 1] across the head (subject's right at x < 0), y up; a rest
// point r maps to the deformed point q = (r.x, r.y - jaw_shift(r)) where the paint is evaluated.
class Layout {
 public:
  Layout(const FaceIdentity& id, const ActionUnits& au) : id_(id), au_(au) {
    const float lid_up = std::max(0.f, au.upper_lid_raise), droop = std::max(0.f, -au.upper_lid_raise);
    eye_y = 0.02f;
    eye_x = id.eye_spacing;
    eye_hw = 0.14f * id.eye_size;
    eye_up = 0.06f * id.eye_size *
             std::max(0.15f, 1.f + 0.9f * lid_up - 0.45f * droop - 0.5f * au.lid_tighten -
                                 0.2f * au.cheek_raise - 0.15f * au.brow_lower);
    eye_low = 0.04f * id.eye_size *
              std::max(0.1f, 1.f + 0.35f * lid_up - 0.55f * au.lid_tighten - 0.7f * au.cheek_raise);
    iris_r = 0.062f * id.eye_size;
    brow_y = eye_y + 0.155f + id.brow_height;
    nose_top = eye_y + 0.02f;
    nose_tip = eye_y - id.nose_length;
    nose_hw = id.nose_width * (1.f + 0.2f * au.nose_wrinkle);
    mouth_y = nose_tip - 0.165f;
    chin_y = mouth_y - 0.3f - id.chin_length;
    mouth_hw = id.mouth_width * (1.f + 0.22f * au.lip_corner_pull + 0.3f * au.lip_stretch -
                                 0.12f * au.lip_press - 0.04f * au.lip_corner_depress);
    corner_dy = 0.09f * au.lip_corner_pull - 0.11f * au.lip_corner_depress - 0.015f * au.lip_stretch;
    const float lt = id.lip_thickness;
    lip_up = 0.055f * lt * (1.f - 0.65f * au.lip_press - 0.3f * au.lip_corner_pull - 0.2f * au.lip_stretch);
    lip_low = 0.07f * lt * (1.f - 0.6f * au.lip_press - 0.25f * au.lip_corner_pull - 0.2f * au.lip_stretch);
    jaw = 0.2f * au.jaw_drop;
    open_up = 0.035f * au.upper_lip_raise + 0.014f * au.lip_corner_pull;
    open_down = jaw + 0.02f * au.lip_stretch + 0.012f * au.lip_corner_pull;
    band_h = 0.07f;
    // Hair style.
    switch (id.hair_style) {
      case 1: hair_thick = 0.07f; break;
      case 2: hair_thick = 0.09f; break;
      case 3: hair_thick = 0.065f; break;
      case 4: hair_thick = 0.02f; break;
      default: hair_thick = 0.04f; break;
    }
    brow_colour = lerp(id.hair * 0.75f, Vec3{0.22f, 0.15f, 0.1f},
                       clampf((id.hair.x + id.hair.y + id.hair.z) / 3.f - 0.3f, 0.f, 1.f));
    brow_colour = Vec3{std::min(brow_colour.x, 0.45f * id.skin.x), std::min(brow_colour.y, 0.45f * id.skin.y),
                       std::min(brow_colour.z, 0.45f * id.skin.z)};
    lip_colour = lerp(id.skin, Vec3{0.70f, 0.30f, 0.32f}, 0.5f) * 0.95f;
  }

  const FaceIdentity& id() const { return id_; }
  const ActionUnits& au() const { return au_; }

  // --- hair -------------------------------------------------------------------------------
  // Height (direction y) above which a direction is hair, as a function of the angle around
  // the vertical axis (0 = front, pi/2 = side, pi = back) and the face-plane x.
  float hairline_at(float theta, float x) const {
    float front = id_.hairline, temple = id_.hairline - 0.06f, side = 0.16f, back = -0.55f;
    switch (id_.hair_style) {
      case 1: front = id_.hairline - 0.12f * smoothstep(-0.3f, 0.5f, x); break;
      case 2: side = -0.45f; back = -0.95f; temple = id_.hairline - 0.12f; break;
      case 3: front = 0.34f; temple = 0.3f; break;
      case 4: front = id_.hairline + 0.16f; temple = id_.hairline + 0.04f; side = 0.1f; break;
      default: break;
    }
    if (theta < 0.9f) return front + (temple - front) * smoothstep(0.f, 0.9f, theta);
    if (theta < 1.5f) return temple + (side - temple) * smoothstep(0.9f, 1.5f, theta);
    return side + (back - side) * smoothstep(1.5f, 2.9f, theta);
  }
  // 0 (skin) .. 1 (hair) for a unit direction.
  float hair_mask(Vec3 d) const {
    const float theta = std::atan2(std::fabs(d.x), d.z);
    const float h = hairline_at(theta, d.x);
    float m = smoothstep(h - 0.012f, h + 0.012f, d.y);
    if (id_.hair_style == 4) {  // receding: thin on top
      m *= 1.f - 0.85f * smoothstep(0.72f, 0.9f, d.y) * smoothstep(2.6f, 1.6f, theta);
    }
    return m;
  }
  Vec3 hair_colour(Vec3 d) const {
    const float theta = std::atan2(d.x, d.z);
    const float streak = 0.96f + 0.04f * std::sin(55.f * theta + 9.f * d.y) * std::sin(13.f * d.y);
    return id_.hair * streak;
  }

  // --- geometry ---------------------------------------------------------------------------
  // Head shape (no facial features) for a unit direction, including the hair volume.
  Vec3 head_point(Vec3 d) const {
    const float front = std::max(0.f, d.z), lower = std::max(0.f, -d.y);
    const float taper = 1.f - (1.f - id_.jaw_width) * smoothstep(0.05f, -0.8f, d.y) * (0.4f + 0.6f * front);
    const float zf = d.z > 0.f ? d.z + 0.35f * d.z * (1.f - d.z) : d.z * 1.06f;
    Vec3 p{id_.head_width * d.x * taper,
           id_.head_height * d.y * (1.f + (0.42f + 0.5f * id_.chin_length) * lower * front),
           id_.head_depth * zf};
    const float hm = id_.hair_style == 4 ? hair_mask(d) : 0.f;
    if (hair_thick > 0.f) {  // volume grows gradually above the hairline (no cliff)
      const float theta = std::atan2(std::fabs(d.x), d.z);
      const float h = hairline_at(theta, d.x);
      float vol = smoothstep(h - 0.02f, h + 0.2f, d.y);
      if (id_.hair_style == 4) vol *= hm;
      p = p + d * (hair_thick * vol * smoothstep(-1.f, -0.3f, d.y));
    }
    return p;
  }
  // Feature relief along +z (object units) at a rest face-plane point.
  float relief(float x, float y) const {
    const float ax = std::fabs(x);
    float z = 0.f;
    // Brow ridge and forehead.
    z += 0.045f * std::exp(-sq((y - (eye_y + 0.16f)) / 0.08f)) * std::exp(-sq(x / 0.55f));
    // Eye sockets with the eyeballs inside.
    z -= 0.07f * gauss2((ax - eye_x) / 0.17f, (y - eye_y - 0.01f) / 0.11f);
    z += 0.035f * gauss2((ax - eye_x) / 0.1f, (y - eye_y) / 0.055f);
    // Cheekbones (+ cheek raise).
    z += (0.045f + 0.035f * au_.cheek_raise) *
         gauss2((ax - 0.4f) / 0.16f, (y - (eye_y - 0.24f + 0.03f * au_.cheek_raise)) / 0.13f);
    // Nose: bridge ridge, tip, wings.
    const float len = nose_top - nose_tip;
    const float t = (nose_top - y) / len;
    float nose = 0.f;
    if (t > -0.6f) {
      const float tt = clampf(t, 0.f, 1.f);
      const float h = id_.nose_height * (0.1f + 0.9f * std::pow(tt, 1.5f));
      const float w = 0.06f + 0.045f * tt;
      const float vert = t < 0.f ? std::exp(-sq(t / 0.25f)) : (t > 1.f ? std::exp(-sq((t - 1.f) / 0.12f)) : 1.f);
      nose = h * std::exp(-sq(x / w)) * vert;
    }
    nose = std::max(nose, id_.nose_height * 0.95f * gauss2(x / 0.07f, (y - nose_tip - 0.015f) / 0.06f));
    nose = std::max(nose, id_.nose_height * 0.38f *
                              gauss2((ax - 0.72f * nose_hw) / 0.055f, (y - nose_tip - 0.005f) / 0.05f));
    z += nose;
    // Lips, philtrum, chin.
    z += 0.05f * std::exp(-sq(sq(x / (mouth_hw + 0.05f))) - sq((y - mouth_y) / 0.1f));
    z += 0.05f * gauss2(x / 0.17f, (y - (chin_y + 0.1f)) / 0.11f);
    z -= 0.015f * gauss2(x / 0.12f, (y - (mouth_y - 0.13f)) / 0.04f);
    return z;
  }
  // Downward jaw shift (face-plane units) of a rest point.
  float jaw_shift(float x, float y) const {
    if (jaw <= 0.f || y >= mouth_y) return 0.f;
    const float band = clampf((mouth_y - y) / band_h, 0.f, 1.f);
    const float sx = smoothstep(mouth_hw + 0.3f, 0.4f * mouth_hw, std::fabs(x));
    const float fade = smoothstep(-0.99f, -0.62f, y);
    return jaw * band * sx * fade;
  }
  // The 3D point shown at rest face-plane point (x, y).
  Vec3 surface(float x, float y) const {
    const Vec3 d = dir_of(x, y);
    Vec3 p = head_point(d);
    const float wf = smoothstep(kBackMaxZ, 0.5f, d.z);
    if (wf > 0.f) p.z += wf * relief(x, y);
    const float js = jaw_shift(x, y);
    if (js > 0.f) {
      const float inside = smoothstep(0.f, 1.f, clampf((mouth_y - y) / band_h, 0.f, 1.f));
      p.y -= js * id_.head_height * 1.2f;
      p.z -= js * 0.35f + 0.05f * (jaw / 0.2f) * inside * (1.f - inside) * 4.f *
                             smoothstep(mouth_hw, 0.f, std::fabs(x));
    }
    p.y += kHeadShiftY;
    return p;
  }
  // Rest point whose deformed position is (x, qy) (inverse of the jaw shift; bisection).
  float rest_y(float x, float qy) const {
    float lo = qy - 0.01f, hi = qy + jaw + 0.01f;  // r.y - shift(r.y) = qy, shift in [0, jaw]
    for (int i = 0; i < 40; ++i) {
      const float mid = 0.5f * (lo + hi);
      if (mid - jaw_shift(x, mid) < qy) lo = mid; else hi = mid;
    }
    return 0.5f * (lo + hi);
  }
  Vec3 surface_deformed(float x, float qy) const { return surface(x, rest_y(x, qy)); }

  // --- mouth shape (deformed coordinates) --------------------------------------------------
  float mouth_line(float x) const { return mouth_y + corner_dy * sq(x / mouth_hw); }
  float mouth_env(float x) const { return std::sqrt(std::max(0.f, 1.f - sq(x / mouth_hw))); }
  float upper_inner(float x) const { return mouth_line(x) + open_up * mouth_env(x); }
  float lower_inner(float x) const { return mouth_line(x) - open_down * std::pow(mouth_env(x), 0.8f); }
  float upper_thick(float x) const {
    const float e = mouth_env(x);
    const float bow = 1.f - 0.22f * std::exp(-sq(x / 0.03f)) + 0.12f * std::exp(-sq((std::fabs(x) - 0.055f) / 0.035f));
    return lip_up * std::pow(e, 0.6f) * bow;
  }
  float lower_thick(float x) const { return lip_low * std::pow(mouth_env(x), 0.7f); }

  // --- eyes and brows ------------------------------------------------------------------------
  float lid_upper(float u, float s) const { return eye_up * std::pow(std::max(0.f, 1.f - u * u), 0.7f) + 0.012f * s * u; }
  float lid_lower(float u, float s) const { return -eye_low * std::pow(std::max(0.f, 1.f - u * u), 0.9f) + 0.012f * s * u; }
  float brow_inner_x() const { return eye_x - 0.125f - 0.05f * au_.brow_lower; }
  float brow_outer_x() const { return eye_x + 0.17f; }
  // Brow centre height at t in [0, 1] (inner -> outer).
  float brow_centre(float t) const {
    return brow_y + 0.06f * au_.outer_brow_raise * t + 0.08f * au_.inner_brow_raise * sq(1.f - t) +
           0.035f * au_.inner_brow_raise * (1.f - t) * (au_.outer_brow_raise > 0.3f ? 1.f : 0.f) +
           (0.02f + 0.035f * id_.brow_arch) * std::sin(kPi * std::min(1.f, t * 1.25f)) * 0.9f -
           0.09f * au_.brow_lower * std::pow(1.f - t, 1.2f) - 0.03f * au_.brow_lower;
  }
  float brow_thick(float t) const { return 0.058f * id_.brow_thickness * (1.f - 0.5f * t); }

  // --- paint -------------------------------------------------------------------------------
  Vec3 paint(float rx, float ry, float aa) const {
    const Vec3 d = dir_of(rx, ry);
    const float qx = rx, qy = ry - jaw_shift(rx, ry);
    const float ax = std::fabs(qx);
    const float s = qx < 0.f ? -1.f : 1.f;
    const Vec3 skin = id_.skin;
    Vec3 c = skin;
    // Blush on the cheeks (more with cheek raise).
    c = lerp(c, mul(skin, Vec3{1.0f, 0.78f, 0.76f}),
             (0.2f + 0.5f * au_.cheek_raise) * gauss2((ax - 0.38f) / 0.13f, (qy - (eye_y - 0.26f)) / 0.11f));
    const auto darken = [&](float amount) { c = c * (1.f - clampf(amount, 0.f, 1.f)); };

    // Forehead wrinkles (brow raise) and frown lines (brow lower).
    const float raise = 0.5f * (au_.inner_brow_raise + au_.outer_brow_raise);
    if (raise > 0.f && ax < 0.32f) {
      for (int k = 0; k < 3; ++k) {
        const float yl = brow_y + 0.15f + 0.055f * k + 0.06f * sq(qx);
        darken(0.22f * raise * coverage(std::fabs(qy - yl) - 0.006f, aa) * smoothstep(0.32f, 0.15f, ax));
      }
    }
    if (au_.brow_lower > 0.f) {
      const float dl = segment_distance(ax, qy, 0.03f, eye_y + 0.06f, 0.045f, eye_y + 0.18f);
      darken(0.6f * au_.brow_lower * coverage(dl - 0.007f, aa));
    }
    // Nose: wrinkles, nostrils, wing creases.
    if (au_.nose_wrinkle > 0.f && ax < 0.09f) {
      for (int k = 0; k < 3; ++k) {
        const float yl = eye_y - 0.05f - 0.035f * k;
        darken(0.35f * au_.nose_wrinkle * coverage(std::fabs(qy - yl) - 0.005f, aa) * smoothstep(0.09f, 0.04f, ax));
      }
    }
    {
      const float nx = (0.42f + 0.08f * au_.nose_wrinkle) * nose_hw, ny = nose_tip - 0.04f + 0.012f * au_.nose_wrinkle;
      const float e = std::sqrt(sq((ax - nx) / (0.028f * (1.f + 0.25f * au_.nose_wrinkle))) + sq((qy - ny) / 0.014f));
      darken(0.7f * coverage((e - 1.f) * 0.014f, aa));
      const float wing = std::sqrt(sq(ax - 0.72f * nose_hw) + sq(qy - nose_tip - 0.005f));
      darken(0.18f * coverage(std::fabs(wing - 0.058f) - 0.005f, aa) * (ax > 0.72f * nose_hw ? 1.f : 0.f) *
             (qy > nose_tip - 0.05f ? 1.f : 0.f));
    }
    // Soft contact shadows: under the nose, under the lower lip, at the jaw line.
    darken(0.12f * gauss2(qx / 0.07f, (qy - (nose_tip - 0.07f)) / 0.03f));
    darken(0.1f * gauss2(qx / (0.8f * mouth_hw), (qy - (lower_inner(0.f) - lower_thick(0.f) - 0.035f)) / 0.03f));
    darken(0.1f * smoothstep(0.55f, 0.85f, std::sqrt(qx * qx + sq(std::min(0.f, qy + 0.2f)) * 1.3f)) *
           smoothstep(-0.2f, -0.6f, qy));
    // Nasolabial folds: from the nose wing to beyond the mouth corner.
    {
      const float fold = 0.1f + 0.5f * au_.lip_corner_pull + 0.3f * au_.cheek_raise +
                         0.35f * au_.nose_wrinkle + 0.3f * au_.upper_lip_raise;
      const float x0 = nose_hw + 0.025f, y0 = nose_tip + 0.01f;
      const float x2 = mouth_hw + 0.05f + 0.02f * au_.lip_corner_pull, y2 = mouth_line(mouth_hw) - 0.07f;
      const float x1 = std::max(x0, x2) + 0.04f, y1 = 0.5f * (y0 + y2);
      if (ax > x0 - 0.05f && ax < x1 + 0.05f && qy < y0 + 0.03f && qy > y2 - 0.05f) {
        float best = 1e9f, px = x0, py = y0;
        for (int k = 1; k <= 10; ++k) {
          const float t = k / 10.f, it = 1.f - t;
          const float bx = it * it * x0 + 2 * it * t * x1 + t * t * x2;
          const float by = it * it * y0 + 2 * it * t * y1 + t * t * y2;
          best = std::min(best, segment_distance(ax, qy, px, py, bx, by));
          px = bx;
          py = by;
        }
        darken(fold * 0.5f * coverage(best - 0.007f, aa));
      }
    }
    // Eyes.
    {
      const float cx = s * eye_x;
      const float u = (qx - cx) / eye_hw, v = qy - eye_y;
      const float su = s * u;  // > 0 toward the outer corner
      if (std::fabs(u) < 1.35f && std::fabs(v) < 0.16f) {
        const float yu = lid_upper(u, s), yl = lid_lower(u, s);
        // Lid crease and lash line.
        const float crease = yu + 0.03f + 0.01f * (1.f - u * u);
        darken(0.18f * coverage(std::fabs(v - crease) - 0.004f, aa) * smoothstep(1.1f, 0.6f, std::fabs(u)));
        const float lash_w = 0.006f + 0.006f * smoothstep(-0.5f, 1.f, su);
        const float inside_u = std::fabs(u) < 1.f ? 1.f : 0.f;
        const float in = std::fabs(u) < 1.f ? std::min(yu - v, v - yl) : -1.f;  // > 0 inside opening
        if (in > -aa * 2.f && inside_u > 0.f) {
          // Sclera, iris, pupil, catchlight; shadow under the upper lid.
          Vec3 e{0.93f, 0.91f, 0.87f};
          e = e * (0.85f + 0.15f * smoothstep(1.f, 0.3f, std::fabs(u)));
          const float ir = std::sqrt(sq(qx - cx) + sq(v - 0.004f));
          const Vec3 iris = id_.iris * (0.85f + 0.3f * smoothstep(iris_r, 0.3f * iris_r, ir));
          e = lerp(e, iris * (ir > 0.8f * iris_r ? 0.7f : 1.f), coverage(ir - iris_r, aa));
          e = lerp(e, Vec3{0.03f, 0.03f, 0.03f}, coverage(ir - 0.42f * iris_r, aa));
          const float cl = std::sqrt(sq(qx - cx + 0.018f) + sq(v - 0.022f));
          e = lerp(e, Vec3{1.f, 1.f, 1.f}, 0.85f * coverage(cl - 0.009f, aa));
          e = e * (1.f - 0.35f * smoothstep(0.02f, 0.f, yu - v));
          c = lerp(c, e, coverage(-in, aa));
        }
        // Lashes along the upper lid (a little past the outer corner), thin lower lid line.
        const float du = std::fabs(u) < 1.f ? std::fabs(v - yu) : std::sqrt(sq((std::fabs(u) - 1.f) * eye_hw) + sq(v - yu));
        const float lash_extend = su > 0.f ? 1.15f : 1.f;
        if (std::fabs(u) < lash_extend) darken(0.82f * coverage(du - lash_w, aa));
        if (std::fabs(u) < 1.f) darken(0.35f * coverage(std::fabs(v - yl) - 0.004f, aa));
      }
    }
    // Brows.
    {
      const float xi = brow_inner_x(), xo = brow_outer_x();
      const float t = (ax - xi) / (xo - xi);
      if (t > -0.2f && t < 1.2f) {
        const float tc = clampf(t, 0.f, 1.f);
        const float yc = brow_centre(tc), th = brow_thick(tc);
        float dist = std::fabs(qy - yc) - 0.5f * th;
        if (t < 0.f) dist = std::sqrt(sq((ax - xi)) + sq(std::max(0.f, std::fabs(qy - yc) - 0.5f * th)));
        if (t > 1.f) dist = std::sqrt(sq((ax - xo)) + sq(std::max(0.f, std::fabs(qy - yc) - 0.5f * th)));
        const float hairy = 0.85f + 0.15f * std::sin(420.f * qx + 90.f * qy);
        c = lerp(c, brow_colour * hairy, 0.92f * coverage(dist, aa));
      }
    }
    // Mouth: lips, opening with teeth, lip line.
    if (ax < mouth_hw + 0.03f && qy < mouth_y + 0.2f && qy > mouth_y - 0.45f) {
      const float xm = std::min(ax, mouth_hw * 0.999f);
      const float ui = upper_inner(xm), li = lower_inner(xm);
      const float uo = ui + upper_thick(xm), lo = li - lower_thick(xm);
      const float corner = ax > mouth_hw ? (ax - mouth_hw) : -1.f;  // > 0: beyond the corners
      // Upper lip.
      float du = std::max(qy - uo, ui - qy);
      du = std::max(du, corner);
      c = lerp(c, lip_colour * 0.9f, coverage(du, aa));
      // Lower lip (lighter in the middle: highlight).
      float dl = std::max(qy - li, lo - qy);
      dl = std::max(dl, corner);
      const float hl = 1.f + 0.12f * std::exp(-sq((qy - 0.5f * (li + lo)) / (0.4f * lower_thick(0.f) + 1e-4f))) *
                                 std::exp(-sq(qx / (0.6f * mouth_hw)));
      c = lerp(c, lip_colour * hl, coverage(dl, aa));
      // Opening.
      const float gap = ui - li;
      if (gap > 1e-4f) {
        float din = std::max(qy - ui, li - qy);
        din = std::max(din, corner);
        Vec3 inner{0.11f, 0.03f, 0.035f};
        // Tongue hint at the bottom of a wide opening.
        inner = lerp(inner, Vec3{0.36f, 0.12f, 0.13f},
                     0.5f * smoothstep(li + 0.3f * gap, li, qy) * smoothstep(0.07f, 0.15f, gap) *
                         smoothstep(0.8f * mouth_hw, 0.3f * mouth_hw, ax));
        // Upper teeth below the upper lip, lower teeth above the lower lip.
        const float teeth_h = std::min(0.045f, 0.75f * gap + 0.004f);
        const float tx = smoothstep(0.9f * mouth_hw, 0.55f * mouth_hw, ax);
        const Vec3 tooth = Vec3{0.93f, 0.91f, 0.85f} * (0.8f + 0.2f * tx) *
                           (1.f - 0.25f * coverage(std::fabs(std::fmod(ax + 0.0175f, 0.035f) - 0.0175f) - 0.0015f, aa));
        inner = lerp(inner, tooth, tx * coverage(std::max(qy - ui, ui - teeth_h - qy), aa));
        if (gap > 0.09f) {
          inner = lerp(inner, tooth * 0.85f,
                       smoothstep(0.6f * mouth_hw, 0.3f * mouth_hw, ax) * coverage(std::max(qy - li - 0.014f, li - qy), aa));
        }
        c = lerp(c, inner, coverage(din, aa));
      } else {
        const float dline = std::fabs(qy - mouth_line(xm)) - 0.004f;
        darken(0.6f * coverage(std::max(dline, corner), aa));
      }
      // Dimples just outside the corners.
      darken(0.25f * (0.3f + au_.lip_corner_pull) * coverage(std::sqrt(sq(ax - mouth_hw - 0.012f) + sq(qy - mouth_line(mouth_hw))) - 0.006f, aa));
    }
    // Hair over everything.
    const float hm = hair_mask(d);
    if (hm > 0.f) c = lerp(c, hair_colour(d), hm);
    return clamp_colour(c);
  }

  // --- derived numbers (face-plane units unless noted) ---------------------------------------
  float eye_y, eye_x, eye_hw, eye_up, eye_low, iris_r;  // eye centre, half-width, lid heights
  float brow_y, nose_top, nose_tip, nose_hw;             // brow base, nose bridge top / tip
  float mouth_y, chin_y, mouth_hw, corner_dy;            // mouth line, chin, corner lift
  float lip_up, lip_low;                                 // lip thicknesses
  float jaw, open_up, open_down, band_h;                 // jaw drop, opening above / below
  float hair_thick;                                      // hair volume (object units)
  Vec3 brow_colour, lip_colour;

 private:
  FaceIdentity id_;
  ActionUnits au_;
};

// Adds an ellipsoid (lat-long) with a flat colour to `mesh`.
void add_ellipsoid(Mesh& mesh, Vec3 centre, Vec3 radii, const Mat3& rot, Vec3 colour, int lon, int lat) {
  const int base = int(mesh.positions.size());
  for (int j = 0; j <= lat; ++j) {
    const float phi = -0.5f * kPi + kPi * j / lat;
    for (int i = 0; i <= lon; ++i) {
      const float lam = 2.f * kPi * i / lon;
      const Vec3 d{std::cos(phi) * std::sin(lam), std::sin(phi), std::cos(phi) * std::cos(lam)};
      mesh.positions.push_back(centre + rot * mul(d, radii));
      mesh.colors.push_back(colour);
    }
  }
  for (int j = 0; j < lat; ++j) {
    for (int i = 0; i < lon; ++i) {
      const int a = base + j * (lon + 1) + i, b = a + 1, c = a + lon + 2, e = a + lon + 1;
      mesh.triangles.push_back({a, b, c});
      mesh.triangles.push_back({a, c, e});
    }
  }
}

}  // namespace

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

FaceModel build_face(const FaceIdentity& identity, const ActionUnits& expression,
                     const FaceBuildOptions& options) {
  POSEFER_CHECK_CONFIG(options.texture_size >= 64 && options.texture_size <= 2048,
                       "face texture_size ", options.texture_size, " out of range 64..2048");
  POSEFER_CHECK_CONFIG(options.grid >= 32 && options.grid <= 400, "face grid ", options.grid,
                       " out of range 32..400");
  const Layout L(identity, expression);
  FaceModel model;

  // Face paint.
  const int T = options.texture_size;
  auto tex = std::make_shared<RgbImage>(T, T);
  const float aa = 1.f / T;  // half a texel in face-plane units (the plane is 2 wide)
  for (int j = 0; j < T; ++j) {
    const float y = 1.f - 2.f * (j + 0.5f) / T;
    for (int i = 0; i < T; ++i) {
      const float x = -1.f + 2.f * (i + 0.5f) / T;
      Vec3 c = x * x + y * y < 1.f ? L.paint(x, y, aa * 1.2f) : identity.skin;
      uint8_t* p = tex->at(i, j);
      p[0] = uint8_t(std::lround(c.x * 255.f));
      p[1] = uint8_t(std::lround(c.y * 255.f));
      p[2] = uint8_t(std::lround(c.z * 255.f));
    }
  }

  // Front mesh: a grid over the face plane, kept where the direction's z >= kFrontMinZ.
  {
    Mesh front;
    front.texture = tex;
    front.double_sided = false;
    const int N = options.grid;
    // The square grid is mapped onto the disc of radius R (elliptical grid mapping), so the
    // mesh edge is a smooth circle where it meets the back mesh.
    const float R = std::sqrt(1.f - kFrontMinZ * kFrontMinZ);
    std::vector<int> index(size_t(N) * N, -1);
    for (int j = 0; j < N; ++j) {
      const float sy = 1.f - 2.f * j / (N - 1);
      for (int i = 0; i < N; ++i) {
        const float sx = -1.f + 2.f * i / (N - 1);
        const float x = R * sx * std::sqrt(1.f - 0.5f * sy * sy);
        const float y = R * sy * std::sqrt(1.f - 0.5f * sx * sx);
        index[size_t(j) * N + i] = int(front.positions.size());
        front.positions.push_back(L.surface(x, y));
        front.uvs.push_back({0.5f * (x + 1.f), 0.5f * (y + 1.f)});
      }
    }
    for (int j = 0; j + 1 < N; ++j) {
      for (int i = 0; i + 1 < N; ++i) {
        const int a = index[size_t(j) * N + i], b = index[size_t(j) * N + i + 1];
        const int c = index[size_t(j + 1) * N + i], e = index[size_t(j + 1) * N + i + 1];
        // (a b / c e) with j downward: counter-clockwise from +z is c -> e -> b, c -> b -> a.
        if (c >= 0 && e >= 0 && b >= 0) front.triangles.push_back({c, e, b});
        if (c >= 0 && b >= 0 && a >= 0) front.triangles.push_back({c, b, a});
      }
    }
    front.normals = compute_normals(front);
    model.meshes.push_back(std::move(front));
  }

  // Back mesh: latitude-longitude over the rest of the head, hair/skin per vertex.
  {
    Mesh back;
    back.double_sided = false;
    const int lon = 72, lat = 44;
    for (int j = 0; j <= lat; ++j) {
      const float phi = -0.5f * kPi + kPi * j / lat;
      for (int i = 0; i <= lon; ++i) {
        const float lam = -kPi + 2.f * kPi * i / lon;
        const Vec3 d{std::cos(phi) * std::sin(lam), std::sin(phi), std::cos(phi) * std::cos(lam)};
        // Slightly inside where it overlaps the front mesh, so the front always wins there.
        Vec3 p = L.head_point(d) * (1.f - 0.01f * smoothstep(0.08f, kFrontMinZ, d.z));
        p.y += kHeadShiftY;
        back.positions.push_back(p);
        const float hm = L.hair_mask(d);
        const Vec3 skin = identity.skin * (0.8f + 0.2f * smoothstep(-0.95f, -0.6f, d.y));
        back.colors.push_back(lerp(skin, L.hair_colour(d), hm));
      }
    }
    for (int j = 0; j < lat; ++j) {
      const float phi0 = -0.5f * kPi + kPi * j / lat, phi1 = -0.5f * kPi + kPi * (j + 1) / lat;
      for (int i = 0; i < lon; ++i) {
        const float lam0 = -kPi + 2.f * kPi * i / lon, lam1 = -kPi + 2.f * kPi * (i + 1) / lon;
        const float zmin = std::min({std::cos(phi0) * std::cos(lam0), std::cos(phi0) * std::cos(lam1),
                                     std::cos(phi1) * std::cos(lam0), std::cos(phi1) * std::cos(lam1)});
        if (zmin > kBackMaxZ) continue;
        const int a = j * (lon + 1) + i, b = a + 1, c = a + lon + 2, e = a + lon + 1;
        back.triangles.push_back({a, b, c});
        back.triangles.push_back({a, c, e});
      }
    }
    back.normals = compute_normals(back);
    model.meshes.push_back(std::move(back));
  }

  // Ears (hidden by long hair), neck, long-hair shell.
  {
    Mesh parts;
    parts.double_sided = false;
    if (identity.hair_style != 2) {
      for (float s : {-1.f, 1.f}) {
        const Vec3 centre{s * (identity.head_width + 0.01f), -0.17f + kHeadShiftY, -0.1f};
        Mat3 tilt = rotation_yaw_pitch(s * 22.f, -10.f);
        add_ellipsoid(parts, centre, Vec3{0.05f, 0.19f * identity.ear_size, 0.11f * identity.ear_size},
                      tilt, mul(identity.skin, Vec3{0.97f, 0.88f, 0.86f}), 12, 8);
      }
    }
    parts.normals = compute_normals(parts);
    model.meshes.push_back(std::move(parts));
    // Neck: an open cylinder.
    Mesh& neck = model.neck;
    neck.double_sided = false;
    const int seg = 32;
    const int base = 0;
    const float r = 0.72f * identity.head_width;
    const std::array<float, 3> ys = {-0.3f, -1.1f, -2.2f};
    for (size_t k = 0; k < ys.size(); ++k) {
      for (int i = 0; i <= seg; ++i) {
        const float a = 2.f * kPi * i / seg;
        neck.positions.push_back({r * std::sin(a), ys[k] + kHeadShiftY, -0.12f + r * 0.9f * std::cos(a)});
        neck.colors.push_back(identity.skin * (k == 0 ? 0.8f : 0.7f));
      }
    }
    for (size_t k = 0; k + 1 < ys.size(); ++k) {
      for (int i = 0; i < seg; ++i) {
        const int a = base + int(k) * (seg + 1) + i, b = a + 1, c = a + seg + 1, e = c + 1;
        neck.triangles.push_back({c, e, b});
        neck.triangles.push_back({c, b, a});
      }
    }
    neck.normals = compute_normals(neck);
    model.neck_joint = {0.f, -0.55f + kHeadShiftY, -0.12f};
    if (identity.hair_style == 2) {
      Mesh shell;  // hair falling behind and beside the neck
      const int hseg = 40, rows = 6;
      for (int k = 0; k <= rows; ++k) {
        const float y = 0.25f - 1.35f * k / rows;
        const float grow = 1.f + 0.12f * smoothstep(0.25f, -0.4f, y);
        for (int i = 0; i <= hseg; ++i) {
          const float a = 0.42f * kPi + (2.f * kPi - 0.84f * kPi) * i / hseg;
          shell.positions.push_back({(identity.head_width + 0.08f) * grow * std::sin(a), y + kHeadShiftY,
                                     -0.05f + (identity.head_depth + 0.05f) * grow * std::cos(a)});
          shell.colors.push_back(identity.hair * (0.9f - 0.25f * float(k) / rows));
        }
      }
      for (int k = 0; k < rows; ++k) {
        for (int i = 0; i < hseg; ++i) {
          const int a = k * (hseg + 1) + i, b = a + 1, c = a + hseg + 1, e = c + 1;
          shell.triangles.push_back({c, e, b});
          shell.triangles.push_back({c, b, a});
        }
      }
      shell.normals = compute_normals(shell);
      model.meshes.push_back(std::move(shell));
    }
  }

  // Landmarks (iBUG 68). Jaw contour in rest coordinates, the rest in deformed ones.
  auto& lm = model.landmarks;
  const float yj = L.eye_y - 0.1f;
  const float chin = L.chin_y;
  for (int k = 0; k <= 16; ++k) {
    const float a = kPi * k / 16.f;
    const float x = -0.9f * std::cos(a) * (1.f - 0.12f * std::sin(a) * (1.f - identity.jaw_width));
    const float y = yj - (yj - chin) * std::sin(a);
    const float rr = std::sqrt(x * x + y * y), lim = 0.95f;
    const float scale = rr > lim ? lim / rr : 1.f;
    lm[k] = L.surface(x * scale, y * scale);
  }
  for (int side = 0; side < 2; ++side) {  // 17-21 right brow (x < 0), 22-26 left brow
    const float s = side == 0 ? -1.f : 1.f;
    for (int k = 0; k < 5; ++k) {
      const float t = side == 0 ? 1.f - k / 4.f : k / 4.f;  // left to right in the image
      const float x = s * (L.brow_inner_x() + t * (L.brow_outer_x() - L.brow_inner_x()));
      lm[17 + side * 5 + k] = L.surface_deformed(x, L.brow_centre(t));
    }
  }
  for (int k = 0; k < 4; ++k) {  // 27-30 nose bridge to tip
    lm[27 + k] = L.surface(0.f, L.nose_top - (L.nose_top - L.nose_tip - 0.015f) * k / 3.f);
  }
  for (int k = 0; k < 5; ++k) {  // 31-35 nostril base
    const float x = (-0.8f + 0.4f * k) * L.nose_hw;
    lm[31 + k] = L.surface(x, L.nose_tip - 0.045f - 0.012f * (1.f - std::fabs(x) / L.nose_hw));
  }
  for (int side = 0; side < 2; ++side) {  // 36-41 right eye, 42-47 left eye
    const float s = side == 0 ? -1.f : 1.f;
    const float cx = s * L.eye_x;
    // Order around the eye, starting at the image-left corner, along the upper lid first.
    const std::array<float, 6> us = {-1.f, -0.4f, 0.4f, 1.f, 0.4f, -0.4f};
    for (int k = 0; k < 6; ++k) {
      const float u = us[k];
      const float v = k <= 3 ? L.lid_upper(u, s) : L.lid_lower(u, s);  // corners: both lids meet
      lm[36 + side * 6 + k] = L.surface_deformed(cx + u * L.eye_hw, L.eye_y + v);
    }
  }
  {
    const float hw = L.mouth_hw * 0.999f;
    const auto outer_up = [&](float x) { return L.upper_inner(x) + L.upper_thick(x); };
    const auto outer_low = [&](float x) { return L.lower_inner(x) - L.lower_thick(x); };
    lm[48] = L.surface_deformed(-hw, L.mouth_line(hw));
    const std::array<float, 5> up_x = {-0.6f, -0.25f, 0.f, 0.25f, 0.6f};
    for (int k = 0; k < 5; ++k) lm[49 + k] = L.surface_deformed(up_x[k] * hw, outer_up(up_x[k] * hw));
    lm[54] = L.surface_deformed(hw, L.mouth_line(hw));
    const std::array<float, 5> low_x = {0.6f, 0.25f, 0.f, -0.25f, -0.6f};
    for (int k = 0; k < 5; ++k) lm[55 + k] = L.surface_deformed(low_x[k] * hw, outer_low(low_x[k] * hw));
    const float ihw = 0.9f * hw;
    lm[60] = L.surface_deformed(-ihw, L.mouth_line(ihw));
    const std::array<float, 3> in_x = {-0.4f, 0.f, 0.4f};
    for (int k = 0; k < 3; ++k) lm[61 + k] = L.surface_deformed(in_x[k] * hw, L.upper_inner(in_x[k] * hw));
    lm[64] = L.surface_deformed(ihw, L.mouth_line(ihw));
    for (int k = 0; k < 3; ++k) lm[65 + k] = L.surface_deformed(-in_x[k] * hw, L.lower_inner(-in_x[k] * hw));
  }
  return model;
}

std::string pose_name(const HeadPose& pose) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "p%+d_t%+d", int(std::lround(pose.yaw_deg)), int(std::lround(pose.pitch_deg)));
  return buf;
}

std::vector<HeadPose> parse_poses(const std::string& spec) {
  std::vector<HeadPose> poses;
  if (spec == "bu3dfe") {
    for (float t : {0.f, -15.f, 15.f, -30.f, 30.f}) {
      for (float p : {-45.f, -30.f, -15.f, 0.f, 15.f, 30.f, 45.f}) poses.push_back({p, t});
    }
    return poses;
  }
  if (spec == "multipie") {
    for (float p : {-30.f, -15.f, 0.f, 15.f, 30.f}) poses.push_back({p, 0.f});
    return poses;
  }
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto parse_angle = [&](const std::string& text) {
      size_t used = 0;
      float v = 0.f;
      try {
        v = std::stof(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      POSEFER_CHECK_CONFIG(used == text.size() && !text.empty(), "bad pose '", item,
                           "' in '", spec, "' (expected bu3dfe, multipie or PAN[:TILT],...)");
      POSEFER_CHECK_CONFIG(std::fabs(v) <= 90.f, "pose angle ", v, " in '", spec,
                           "' out of range -90..90");
      return v;
    };
    const auto colon = item.find(':');
    HeadPose p;
    p.yaw_deg = parse_angle(item.substr(0, colon));
    if (colon != std::string::npos) p.pitch_deg = parse_angle(item.substr(colon + 1));
    poses.push_back(p);
  }
  POSEFER_CHECK_CONFIG(!poses.empty(), "empty pose list '", spec, "'");
  return poses;
}

FaceRender render_face(const FaceModel& face, const HeadPose& pose, const FaceRenderOptions& options) {
  POSEFER_CHECK_CONFIG(options.size >= 8 && options.size <= 4096, "face image size ", options.size,
                       " out of range 8..4096");
  Camera cam;
  cam.width = cam.height = options.size;
  cam.fov_y_deg = options.fov_y_deg;
  cam.distance = options.distance;
  cam.yaw_deg = pose.yaw_deg;
  cam.pitch_deg = pose.pitch_deg;
  RenderOptions ro;
  ro.supersample = options.supersample;
  ro.background = options.background;
  ro.light_dir = {0.25f, 0.35f, 1.f};
  ro.ambient = 0.5f;
  ro.diffuse = 0.52f;
  FaceRender out;
  std::vector<float> depth;
  // The renderer turns everything by yaw and pitch about the origin; the neck is first tilted
  // back by -pitch about its joint, so it hangs from the (pitched) head but stays upright.
  Mesh neck;
  std::vector<const Mesh*> meshes;
  for (const auto& m : face.meshes) meshes.push_back(&m);
  if (!face.neck.positions.empty()) {
    neck = face.neck;
    const Mat3 back = rotation_yaw_pitch(0.f, -pose.pitch_deg);
    for (auto& p : neck.positions) p = face.neck_joint + back * (p - face.neck_joint);
    for (auto& n : neck.normals) n = back * n;
    meshes.push_back(&neck);
  }
  out.image = render(meshes, cam, ro, &depth);
  const float tolerance = 0.06f;
  for (int k = 0; k < 68; ++k) {
    const Projection p = project(cam, face.landmarks[k]);
    out.landmarks[k] = {p.x, p.y};
    const int px = int(std::floor(p.x)), py = int(std::floor(p.y));
    bool vis = px >= 0 && py >= 0 && px < options.size && py < options.size;
    if (vis) vis = p.depth <= depth[size_t(py) * options.size + px] + tolerance;
    out.visible[k] = vis;
  }
  return out;
}

}  // namespace posefer
