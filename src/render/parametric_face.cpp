// The parametric face: the mesh (build_face), poses and rendering (parametric_face.h); the
// layout is in face_layout.h, expressions in face_expressions.cpp, identities in face_identity.cpp.
#include "posefer/render/parametric_face.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "posefer/core/check.h"
#include "face_layout.h"
#include "face_shared.h"

namespace posefer {

using namespace face_detail;

namespace {

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
