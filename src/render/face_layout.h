// The face's layout: everything derived from identity + expression that the geometry, the paint
// and the landmarks share (parametric_face.cpp builds the mesh from it). Internal to src/render/.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "face_shared.h"

namespace posefer::face_detail {

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

}  // namespace posefer::face_detail
