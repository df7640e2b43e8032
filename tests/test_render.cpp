#include "posefer/render/render.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

// Flat shading: colours come out exactly as given.
RenderOptions flat(int supersample = 1) {
  RenderOptions o;
  o.supersample = supersample;
  o.ambient = 1.f;
  o.diffuse = 0.f;
  o.background = {0.f, 0.f, 1.f};
  return o;
}

Mesh triangle(Vec3 a, Vec3 b, Vec3 c, Vec3 colour) {
  Mesh m;
  m.positions = {a, b, c};
  m.colors = {colour, colour, colour};
  m.triangles = {{0, 1, 2}};
  return m;
}

void expect_pixel(const RgbImage& img, int x, int y, int r, int g, int b) {
  const uint8_t* p = img.at(x, y);
  EXPECT_EQ(p[0], r) << "pixel (" << x << ", " << y << ")";
  EXPECT_EQ(p[1], g) << "pixel (" << x << ", " << y << ")";
  EXPECT_EQ(p[2], b) << "pixel (" << x << ", " << y << ")";
}

// 20x20, f = 10 px: a point (X, Y, Z) lands at (10 + 10 X / (10 - Z), 10 - 10 Y / (10 - Z)).
Camera test_camera() {
  Camera cam;
  cam.width = cam.height = 20;
  cam.fov_y_deg = 90.f;
  cam.distance = 10.f;
  return cam;
}

TEST(Render, NearerTriangleWinsInOverlapWhateverTheDrawingOrder) {
  // Red at depth 10 covers the screen triangle (5,15),(15,15),(5,5); green at depth 8 covers
  // (10,15),(15,15),(10,5).
  const Mesh red = triangle({-5, -5, 0}, {5, -5, 0}, {-5, 5, 0}, {1, 0, 0});
  const Mesh green = triangle({0, -4, 2}, {4, -4, 2}, {0, 4, 2}, {0, 1, 0});
  for (const auto& scene : {std::vector<Mesh>{red, green}, std::vector<Mesh>{green, red}}) {
    std::vector<float> depth;
    const RgbImage img = render(scene, test_camera(), flat(), &depth);
    ASSERT_EQ(img.width, 20);
    ASSERT_EQ(img.height, 20);
    expect_pixel(img, 11, 13, 0, 255, 0);  // overlap: green is nearer
    expect_pixel(img, 12, 14, 0, 255, 0);
    expect_pixel(img, 7, 13, 255, 0, 0);   // red only
    expect_pixel(img, 6, 8, 255, 0, 0);
    expect_pixel(img, 2, 2, 0, 0, 255);    // background
    expect_pixel(img, 17, 17, 0, 0, 255);
    EXPECT_NEAR(depth[13 * 20 + 11], 8.f, 1e-4f);
    EXPECT_NEAR(depth[13 * 20 + 7], 10.f, 1e-4f);
    EXPECT_TRUE(std::isinf(depth[2 * 20 + 2]));
  }
}

// Axis-aligned cube [-1, 1]^3, one colour per face, counter-clockwise from outside.
Mesh coloured_cube(const std::array<Vec3, 6>& colours) {
  // Faces: +x, -x, +y, -y, +z, -z; each as (centre normal n, axes u, v with u x v = n).
  const std::array<std::array<Vec3, 3>, 6> faces = {{
      {{{1, 0, 0}, {0, 0, -1}, {0, 1, 0}}},
      {{{-1, 0, 0}, {0, 0, 1}, {0, 1, 0}}},
      {{{0, 1, 0}, {1, 0, 0}, {0, 0, -1}}},
      {{{0, -1, 0}, {1, 0, 0}, {0, 0, 1}}},
      {{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}}},
      {{{0, 0, -1}, {-1, 0, 0}, {0, 1, 0}}},
  }};
  Mesh m;
  m.double_sided = false;
  for (int f = 0; f < 6; ++f) {
    const Vec3 n = faces[f][0], u = faces[f][1], v = faces[f][2];
    const int base = int(m.positions.size());
    m.positions.push_back(n - u - v);
    m.positions.push_back(n + u - v);
    m.positions.push_back(n + u + v);
    m.positions.push_back(n - u + v);
    for (int k = 0; k < 4; ++k) {
      m.colors.push_back(colours[f]);
      m.normals.push_back(n);
    }
    m.triangles.push_back({base, base + 1, base + 2});
    m.triangles.push_back({base, base + 2, base + 3});
  }
  return m;
}

TEST(Render, CubeShowsItsVisibleFacesAtTheirProjectedCentres) {
  const std::array<Vec3, 6> colours = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                        {1, 1, 0}, {1, 0, 1}, {0, 1, 1}}};
  const std::array<Vec3, 6> normals = {{{1, 0, 0}, {-1, 0, 0}, {0, 1, 0},
                                        {0, -1, 0}, {0, 0, 1}, {0, 0, -1}}};
  const Mesh cube = coloured_cube(colours);
  RenderOptions opt = flat();
  opt.background = {0.5f, 0.5f, 0.5f};
  Camera cam;
  cam.width = cam.height = 64;
  cam.fov_y_deg = 40.f;
  cam.distance = 8.f;
  cam.yaw_deg = 45.f;  // +z face turns right, -x face comes round on the left
  cam.pitch_deg = 0.f;
  RgbImage img = render({cube}, cam, opt);
  // Left of centre: the -x face (green); right of centre: the +z face (magenta).
  expect_pixel(img, 32 - 8, 32, 0, 255, 0);
  expect_pixel(img, 32 + 7, 32, 255, 0, 255);
  for (int c : {0, 63}) {
    expect_pixel(img, c, 0, 128, 128, 128);
    expect_pixel(img, c, 63, 128, 128, 128);
  }

  // General check over several poses: each visible face's centre shows that face's colour.
  for (const auto& pose : {std::array<float, 2>{45.f, 0.f}, {30.f, 30.f}, {-30.f, -15.f},
                           {15.f, 45.f}}) {
    cam.yaw_deg = pose[0];
    cam.pitch_deg = pose[1];
    img = render({cube}, cam, opt);
    const Mat3 rot = rotation_yaw_pitch(cam.yaw_deg, cam.pitch_deg);
    int visible = 0;
    for (int f = 0; f < 6; ++f) {
      const Vec3 n = rot * normals[f];
      const Vec3 centre_cam = rot * normals[f];
      const Vec3 to_camera = Vec3{0, 0, cam.distance} - centre_cam;
      if (dot(n, to_camera) < 0.5f * length(to_camera)) continue;  // hidden or very oblique
      ++visible;
      const Projection p = project(cam, normals[f]);
      const uint8_t* px = img.at(int(p.x), int(p.y));
      EXPECT_EQ(px[0], std::lround(colours[f].x * 255)) << "face " << f;
      EXPECT_EQ(px[1], std::lround(colours[f].y * 255)) << "face " << f;
      EXPECT_EQ(px[2], std::lround(colours[f].z * 255)) << "face " << f;
    }
    EXPECT_GE(visible, 1);
  }
}

TEST(Render, BackFacesAreCulledUnlessDoubleSided) {
  // Clockwise seen from the camera = back-facing.
  Mesh back = triangle({-5, -5, 0}, {-5, 5, 0}, {5, -5, 0}, {1, 0, 0});
  back.double_sided = false;
  expect_pixel(render({back}, test_camera(), flat()), 7, 13, 0, 0, 255);
  back.double_sided = true;
  expect_pixel(render({back}, test_camera(), flat()), 7, 13, 255, 0, 0);
}

TEST(Render, LambertShadingFollowsTheNormal) {
  RenderOptions opt;
  opt.supersample = 1;
  opt.ambient = 0.f;
  opt.diffuse = 1.f;
  opt.light_dir = {0, 0, 1};
  Mesh m = triangle({-5, -5, 0}, {5, -5, 0}, {-5, 5, 0}, {1, 1, 1});
  m.normals = {{0, 0, 1}, {0, 0, 1}, {0, 0, 1}};
  expect_pixel(render({m}, test_camera(), opt), 7, 13, 255, 255, 255);
  const Vec3 tilted = {0.8f, 0.f, 0.6f};  // cos = 0.6 to the light: 0.6 * 255 = 153
  m.normals = {tilted, tilted, tilted};
  expect_pixel(render({m}, test_camera(), opt), 7, 13, 153, 153, 153);
  m.normals = {{0, 0, -1}, {0, 0, -1}, {0, 0, -1}};  // facing away from the light: black
  expect_pixel(render({m}, test_camera(), opt), 7, 13, 0, 0, 0);
}

TEST(Render, TexturedQuadSamplesTheTextureBilinearly) {
  // 4x4 texture, texel (i, j) = (40 i, 40 j, 200); the quad fills the 8x8 image exactly.
  auto tex = std::make_shared<RgbImage>(4, 4);
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 4; ++i) {
      uint8_t* p = tex->at(i, j);
      p[0] = uint8_t(40 * i);
      p[1] = uint8_t(40 * j);
      p[2] = 200;
    }
  }
  Mesh quad;
  quad.positions = {{-1, -1, 0}, {1, -1, 0}, {1, 1, 0}, {-1, 1, 0}};
  quad.uvs = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};  // v = 0 at the bottom (VRML)
  quad.triangles = {{0, 1, 2}, {0, 2, 3}};
  quad.texture = tex;
  Camera cam;
  cam.width = cam.height = 8;
  cam.fov_y_deg = 90.f;
  cam.distance = 1.f;
  const RgbImage img = render({quad}, cam, flat());
  // Image pixel (x, y) samples texture coordinate ((x + .5) / 2 - .5, (y + .5) / 2 - .5).
  expect_pixel(img, 0, 0, 0, 0, 200);       // clamped corner = texel (0, 0): top-left
  expect_pixel(img, 7, 7, 120, 120, 200);   // texel (3, 3)
  expect_pixel(img, 1, 0, 10, 0, 200);      // 3/4 texel 0 + 1/4 texel 1 -> 10
  expect_pixel(img, 3, 5, 50, 90, 200);     // x: 1.25 texels -> 50; y: 2.25 texels -> 90
  expect_pixel(img, 7, 0, 120, 0, 200);
}

TEST(Render, TextureInterpolationIsPerspectiveCorrect) {
  // Left half red, right half blue: the boundary u = 0.5 is the object-space line x = 0, which
  // projects to column 32 whatever the yaw. Turned by 60 degrees, the quad's projected edges are
  // at x ~ 19.0 and ~ 39.2, so affine (screen-space) interpolation would put it near 29.
  auto tex = std::make_shared<RgbImage>(64, 1);
  for (int i = 0; i < 64; ++i) {
    uint8_t* p = tex->at(i, 0);
    p[0] = i < 32 ? 255 : 0;
    p[2] = i < 32 ? 0 : 255;
  }
  Mesh quad;
  quad.positions = {{-1, -1, 0}, {1, -1, 0}, {1, 1, 0}, {-1, 1, 0}};
  quad.uvs = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  quad.triangles = {{0, 1, 2}, {0, 2, 3}};
  quad.texture = tex;
  Camera cam;
  cam.width = cam.height = 64;
  cam.fov_y_deg = 60.f;
  cam.distance = 3.f;
  cam.yaw_deg = 60.f;
  const RgbImage img = render({quad}, cam, flat());
  EXPECT_NEAR(project(cam, {-1, 0, 0}).x, 19.0f, 0.1f);
  EXPECT_NEAR(project(cam, {1, 0, 0}).x, 39.2f, 0.1f);
  for (int x : {22, 28, 30}) expect_pixel(img, x, 32, 255, 0, 0);
  for (int x : {33, 36}) expect_pixel(img, x, 32, 0, 0, 255);
}

TEST(Render, ProjectionOfAKnownPointLandsOnTheExpectedPixel) {
  Camera cam;
  cam.width = cam.height = 100;
  cam.fov_y_deg = 90.f;  // f = 50 px
  cam.distance = 10.f;
  Projection p = project(cam, {5.f, 2.5f, 0.f});
  EXPECT_NEAR(p.x, 75.f, 1e-4f);
  EXPECT_NEAR(p.y, 37.5f, 1e-4f);
  EXPECT_NEAR(p.depth, 10.f, 1e-5f);
  cam.yaw_deg = 90.f;  // (0, 0, 5) turns to (5, 0, 0)
  p = project(cam, {0.f, 2.5f, 5.f});
  EXPECT_NEAR(p.x, 75.f, 1e-3f);
  EXPECT_NEAR(p.y, 37.5f, 1e-3f);
  cam.yaw_deg = 0.f;
  cam.pitch_deg = 90.f;  // (0, 0, 5) turns to (0, 5, 0): up in the image
  p = project(cam, {0.f, 0.f, 5.f});
  EXPECT_NEAR(p.x, 50.f, 1e-3f);
  EXPECT_NEAR(p.y, 25.f, 1e-3f);
  // A small triangle around the first point is drawn on that pixel.
  cam.pitch_deg = 0.f;
  const Mesh t = triangle({4.8f, 2.3f, 0}, {5.4f, 2.3f, 0}, {4.8f, 2.9f, 0}, {1, 1, 1});
  const RgbImage img = render({t}, cam, flat());
  expect_pixel(img, 75, 37, 255, 255, 255);
  expect_pixel(img, 80, 37, 0, 0, 255);
}

TEST(Render, SupersamplingAntiAliasesEdges) {
  // Vertical edge at x = 10 px exactly: pixel 9 is fully outside, 10 inside. Shift it by half a
  // pixel and the straddled pixel becomes half covered.
  const Mesh m = triangle({0.5f, -8, 0}, {8, -8, 0}, {0.5f, 8, 0}, {1, 1, 1});  // x = 10.5 px
  const RgbImage hard = render({m}, test_camera(), flat(1));
  const RgbImage soft = render({m}, test_camera(), flat(4));
  const uint8_t* h = hard.at(10, 10);
  const uint8_t* s = soft.at(10, 10);
  EXPECT_TRUE(h[0] == 0 || h[0] == 255);
  EXPECT_NEAR(s[0], 128, 2);  // half white, half blue background
  EXPECT_NEAR(s[2], 255, 1);
  expect_pixel(soft, 12, 10, 255, 255, 255);
}

TEST(Render, RejectsBadInput) {
  Camera cam = test_camera();
  RenderOptions opt;
  opt.supersample = 0;
  EXPECT_THROW_MSG(render(std::vector<Mesh>{}, cam, opt), ConfigError, "supersample 0");
  Mesh bad = triangle({0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 1, 1});
  bad.triangles = {{0, 1, 3}};
  EXPECT_THROW_MSG(render({bad}, cam), ShapeError, "triangle index 3");
  Mesh tex = triangle({0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 1, 1});
  tex.texture = std::make_shared<RgbImage>(2, 2);
  EXPECT_THROW_MSG(render({tex}, cam), ShapeError, "0 uvs for 3 vertices");
  cam.width = 0;
  EXPECT_THROW_MSG(render(std::vector<Mesh>{}, cam), ConfigError, "image size 0x20");
}

}  // namespace
}  // namespace posefer
