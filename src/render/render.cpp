#include "posefer/render/render.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "posefer/core/check.h"

namespace posefer {

namespace {
constexpr float kPi = 3.14159265358979323846f;
constexpr float kNearDepth = 1e-3f;

// Per-vertex data after transform and shading.
struct ScreenVertex {
  float x = 0.f, y = 0.f;  // supersampled pixel coordinates
  float inv_z = 0.f;       // 1 / depth
  Vec3 lit_front;          // colour x shade for the front side
  Vec3 lit_back;           // colour x shade for the back side (flipped normal)
};

inline float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }
}  // namespace

Mat3 Mat3::operator*(const Mat3& o) const {
  Mat3 r;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      r.m[i * 3 + j] = m[i * 3] * o.m[j] + m[i * 3 + 1] * o.m[3 + j] + m[i * 3 + 2] * o.m[6 + j];
    }
  }
  return r;
}

Mat3 rotation_yaw_pitch(float yaw_deg, float pitch_deg) {
  const float y = yaw_deg * kPi / 180.f, p = pitch_deg * kPi / 180.f;
  const float cy = std::cos(y), sy = std::sin(y), cp = std::cos(p), sp = std::sin(p);
  Mat3 yaw, pitch;
  yaw.m = {cy, 0, sy, 0, 1, 0, -sy, 0, cy};     // +z -> (sin, 0, cos)
  pitch.m = {1, 0, 0, 0, cp, sp, 0, -sp, cp};   // +z -> (0, sin, cos)
  return yaw * pitch;
}

namespace {
// Bilinear lookup (see sample_bilinear), inlined into the rasteriser's inner loop.
inline Vec3 bilinear(const RgbImage& t, float u, float v) {
  const float fx = u * t.width - 0.5f, fy = (1.f - v) * t.height - 0.5f;
  const float x0f = std::floor(fx), y0f = std::floor(fy);
  const float ax = fx - x0f, ay = fy - y0f;
  const int x0 = std::clamp(int(x0f), 0, t.width - 1), x1 = std::clamp(int(x0f) + 1, 0, t.width - 1);
  const int y0 = std::clamp(int(y0f), 0, t.height - 1), y1 = std::clamp(int(y0f) + 1, 0, t.height - 1);
  const uint8_t* p00 = t.at(x0, y0);
  const uint8_t* p10 = t.at(x1, y0);
  const uint8_t* p01 = t.at(x0, y1);
  const uint8_t* p11 = t.at(x1, y1);
  const float w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
  constexpr float s = 1.f / 255.f;
  return {(w00 * p00[0] + w10 * p10[0] + w01 * p01[0] + w11 * p11[0]) * s,
          (w00 * p00[1] + w10 * p10[1] + w01 * p01[1] + w11 * p11[1]) * s,
          (w00 * p00[2] + w10 * p10[2] + w01 * p01[2] + w11 * p11[2]) * s};
}
}  // namespace

Vec3 sample_bilinear(const RgbImage& t, float u, float v) { return bilinear(t, u, v); }

std::vector<Vec3> compute_normals(const Mesh& mesh) {
  std::vector<Vec3> n(mesh.positions.size());
  for (const auto& t : mesh.triangles) {
    const Vec3 a = mesh.positions[t[0]], b = mesh.positions[t[1]], c = mesh.positions[t[2]];
    const Vec3 fn = cross(b - a, c - a);  // length = 2 * area: area weighting
    for (int k = 0; k < 3; ++k) n[t[k]] = n[t[k]] + fn;
  }
  for (auto& v : n) v = normalized(v);
  return n;
}

Projection project(const Camera& camera, Vec3 p) {
  const Vec3 q = rotation_yaw_pitch(camera.yaw_deg, camera.pitch_deg) * p;
  const float depth = camera.distance - q.z;
  const float f = 0.5f * camera.height / std::tan(0.5f * camera.fov_y_deg * kPi / 180.f);
  return {0.5f * camera.width + f * q.x / depth, 0.5f * camera.height - f * q.y / depth, depth};
}

RgbImage render(const std::vector<Mesh>& meshes, const Camera& camera,
                const RenderOptions& options, std::vector<float>* depth_out) {
  std::vector<const Mesh*> ptrs;
  for (const auto& m : meshes) ptrs.push_back(&m);
  return render(ptrs, camera, options, depth_out);
}

RgbImage render(const std::vector<const Mesh*>& meshes, const Camera& camera,
                const RenderOptions& options, std::vector<float>* depth_out) {
  POSEFER_CHECK_CONFIG(camera.width > 0 && camera.height > 0 && camera.width <= 16384 &&
                           camera.height <= 16384,
                       "render: image size ", camera.width, "x", camera.height, " out of range");
  POSEFER_CHECK_CONFIG(camera.fov_y_deg > 0.f && camera.fov_y_deg < 179.f,
                       "render: fov_y_deg ", camera.fov_y_deg, " out of range (0, 179)");
  POSEFER_CHECK_CONFIG(camera.distance > 0.f, "render: camera distance must be > 0");
  POSEFER_CHECK_CONFIG(options.supersample >= 1 && options.supersample <= 8,
                       "render: supersample ", options.supersample, " out of range 1..8");
  const int ss = options.supersample;
  const int W = camera.width * ss, H = camera.height * ss;
  const Mat3 rot = rotation_yaw_pitch(camera.yaw_deg, camera.pitch_deg);
  const float f = 0.5f * H / std::tan(0.5f * camera.fov_y_deg * kPi / 180.f);
  const Vec3 light = normalized(options.light_dir);

  std::vector<Vec3> color(size_t(W) * H, options.background);
  std::vector<float> inv_depth(size_t(W) * H, 0.f);  // 0 = nothing drawn (infinitely far)

  std::vector<ScreenVertex> sv;
  for (size_t mi = 0; mi < meshes.size(); ++mi) {
    if (!meshes[mi]) continue;
    const Mesh& mesh = *meshes[mi];
    const size_t nv = mesh.positions.size();
    POSEFER_CHECK_SHAPE(mesh.normals.empty() || mesh.normals.size() == nv, "render: mesh ", mi,
                        " has ", mesh.normals.size(), " normals for ", nv, " vertices");
    POSEFER_CHECK_SHAPE(mesh.colors.empty() || mesh.colors.size() == nv, "render: mesh ", mi,
                        " has ", mesh.colors.size(), " colours for ", nv, " vertices");
    const bool textured = mesh.texture != nullptr;
    if (textured) {
      POSEFER_CHECK_SHAPE(mesh.uvs.size() == nv, "render: textured mesh ", mi, " has ",
                          mesh.uvs.size(), " uvs for ", nv, " vertices");
      POSEFER_CHECK_SHAPE(mesh.texture->width > 0 && mesh.texture->height > 0 &&
                              mesh.texture->pixels.size() ==
                                  size_t(mesh.texture->width) * mesh.texture->height * 3,
                          "render: mesh ", mi, " has an empty or malformed texture");
    }
    for (const auto& t : mesh.triangles) {
      for (int k = 0; k < 3; ++k) {
        POSEFER_CHECK_SHAPE(t[k] >= 0 && size_t(t[k]) < nv, "render: mesh ", mi,
                            " triangle index ", t[k], " out of range (", nv, " vertices)");
      }
    }
    std::vector<Vec3> computed;
    const std::vector<Vec3>* normals = &mesh.normals;
    if (mesh.normals.empty()) {
      computed = compute_normals(mesh);
      normals = &computed;
    }
    sv.resize(nv);
    for (size_t i = 0; i < nv; ++i) {
      const Vec3 q = rot * mesh.positions[i];
      const float d = camera.distance - q.z;
      ScreenVertex& v = sv[i];
      v.inv_z = d > kNearDepth ? 1.f / d : -1.f;
      v.x = 0.5f * W + f * q.x * v.inv_z;
      v.y = 0.5f * H - f * q.y * v.inv_z;
      const float nl = dot(rot * (*normals)[i], light);
      const Vec3 c = mesh.colors.empty() ? Vec3{1.f, 1.f, 1.f} : mesh.colors[i];
      v.lit_front = c * (options.ambient + options.diffuse * std::max(0.f, nl));
      v.lit_back = c * (options.ambient + options.diffuse * std::max(0.f, -nl));
    }

    for (const auto& t : mesh.triangles) {
      int i0 = t[0], i1 = t[1], i2 = t[2];
      if (sv[i0].inv_z <= 0.f || sv[i1].inv_z <= 0.f || sv[i2].inv_z <= 0.f) continue;
      float area = (sv[i1].x - sv[i0].x) * (sv[i2].y - sv[i0].y) -
                   (sv[i1].y - sv[i0].y) * (sv[i2].x - sv[i0].x);
      if (area == 0.f) continue;
      // y points down on screen, so a counter-clockwise (front) triangle has area < 0 here.
      const bool front = area < 0.f;
      if (!front && !mesh.double_sided) continue;
      if (front) {  // make the winding positive for the edge functions
        std::swap(i1, i2);
        area = -area;
      }
      const ScreenVertex &a = sv[i0], &b = sv[i1], &c = sv[i2];
      // Samples sit at pixel centres (i + 0.5): only those inside the bounding box count.
      const int x_min = std::max(0, int(std::ceil(std::min({a.x, b.x, c.x}) - 0.5f)));
      const int x_max = std::min(W - 1, int(std::floor(std::max({a.x, b.x, c.x}) - 0.5f)));
      const int y_min = std::max(0, int(std::ceil(std::min({a.y, b.y, c.y}) - 0.5f)));
      const int y_max = std::min(H - 1, int(std::floor(std::max({a.y, b.y, c.y}) - 0.5f)));
      if (x_min > x_max || y_min > y_max) continue;
      const float inv_area = 1.f / area;
      // Edge function e(p) = (q.x - p0.x) * (p.y - p0.y) - (q.y - p0.y) * (p.x - p0.x), opposite
      // each vertex, pre-divided by the area: barycentric weights directly.
      const auto edge_coeffs = [&](const ScreenVertex& p0, const ScreenVertex& q, float& dx,
                                   float& dy, float& c0) {
        dx = -(q.y - p0.y) * inv_area;
        dy = (q.x - p0.x) * inv_area;
        c0 = -(dx * p0.x + dy * p0.y);
      };
      float ax, ay, ac, bx, by, bc, cx, cy, cc;
      edge_coeffs(b, c, ax, ay, ac);  // weight of a
      edge_coeffs(c, a, bx, by, bc);  // weight of b
      edge_coeffs(a, b, cx, cy, cc);  // weight of c
      const Vec3 ca = (front ? a.lit_front : a.lit_back) * a.inv_z;
      const Vec3 cb = (front ? b.lit_front : b.lit_back) * b.inv_z;
      const Vec3 ccol = (front ? c.lit_front : c.lit_back) * c.inv_z;
      Vec2 ua, ub, uc;
      if (textured) {
        const Vec2 ta = mesh.uvs[i0], tb = mesh.uvs[i1], tc = mesh.uvs[i2];
        ua = {ta.x * a.inv_z, ta.y * a.inv_z};
        ub = {tb.x * b.inv_z, tb.y * b.inv_z};
        uc = {tc.x * c.inv_z, tc.y * c.inv_z};
      }
      for (int y = y_min; y <= y_max; ++y) {
        const float py = y + 0.5f;
        float wa = ax * (x_min + 0.5f) + ay * py + ac;
        float wb = bx * (x_min + 0.5f) + by * py + bc;
        float wc = cx * (x_min + 0.5f) + cy * py + cc;
        size_t idx = size_t(y) * W + x_min;
        for (int x = x_min; x <= x_max; ++x, ++idx, wa += ax, wb += bx, wc += cx) {
          if (wa < 0.f || wb < 0.f || wc < 0.f) continue;
          const float iz = wa * a.inv_z + wb * b.inv_z + wc * c.inv_z;
          if (iz <= inv_depth[idx]) continue;
          inv_depth[idx] = iz;
          const float rz = 1.f / iz;
          Vec3 col = (ca * wa + cb * wb + ccol * wc) * rz;
          if (textured) {
            const float u = (ua.x * wa + ub.x * wb + uc.x * wc) * rz;
            const float v = (ua.y * wa + ub.y * wb + uc.y * wc) * rz;
            col = mul(col, bilinear(*mesh.texture, u, v));
          }
          color[idx] = col;
        }
      }
    }
  }

  RgbImage out(camera.width, camera.height);
  if (depth_out) depth_out->assign(size_t(camera.width) * camera.height, 0.f);
  const float norm = 1.f / float(ss * ss);
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      Vec3 sum;
      float best = 0.f;
      for (int dy = 0; dy < ss; ++dy) {
        const size_t row = size_t(y * ss + dy) * W + size_t(x) * ss;
        for (int dx = 0; dx < ss; ++dx) {
          sum = sum + color[row + dx];
          best = std::max(best, inv_depth[row + dx]);
        }
      }
      uint8_t* p = out.at(x, y);
      p[0] = uint8_t(int(clamp01(sum.x * norm) * 255.f + 0.5f));
      p[1] = uint8_t(int(clamp01(sum.y * norm) * 255.f + 0.5f));
      p[2] = uint8_t(int(clamp01(sum.z * norm) * 255.f + 0.5f));
      if (depth_out) {
        (*depth_out)[size_t(y) * camera.width + x] =
            best > 0.f ? 1.f / best : std::numeric_limits<float>::infinity();
      }
    }
  }
  return out;
}

}  // namespace posefer
