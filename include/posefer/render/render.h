// A small software rasteriser (no GPU, no windowing, no torch): triangle meshes with per-vertex
// colour and/or an RGB texture, z-buffer, perspective camera, Lambert + ambient shading from
// per-vertex normals (Gouraud), anti-aliasing by supersampling + box filter.
//
// Coordinates. Object space is right-handed: +x right, +y up, +z toward the camera. The object is
// rotated about the origin by pitch (about +x; positive turns +z up) and then yaw (about +y;
// positive turns +z toward +x, i.e. toward the viewer's right). The camera sits on the +z axis at
// `distance` and looks at the origin. Pixel (i, j) covers [i, i+1) x [j, j+1) with j = 0 the top
// row; a point projects to continuous pixel coordinates, so the image centre is (W/2, H/2).
// Triangles are not clipped: one with a vertex at depth <= 1e-3 is skipped.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "posefer/core/rgb_image.h"

namespace posefer {

struct Vec2 {
  float x = 0.f, y = 0.f;
};

struct Vec3 {
  float x = 0.f, y = 0.f, z = 0.f;
};
inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(Vec3 a, float s) { return {a.x * s, a.y * s, a.z * s}; }
inline Vec3 operator*(float s, Vec3 a) { return a * s; }
inline Vec3 mul(Vec3 a, Vec3 b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
inline float dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline float length(Vec3 a) { return std::sqrt(dot(a, a)); }
// a / |a|, or a unchanged when it is (near) zero.
inline Vec3 normalized(Vec3 a) {
  const float n = length(a);
  return n > 1e-12f ? a * (1.f / n) : a;
}
// a + (b - a) * t
inline Vec3 lerp(Vec3 a, Vec3 b, float t) { return a + (b - a) * t; }

// Row-major 3x3 matrix (identity by default).
struct Mat3 {
  std::array<float, 9> m{1, 0, 0, 0, 1, 0, 0, 0, 1};
  Vec3 operator*(Vec3 v) const {
    return {m[0] * v.x + m[1] * v.y + m[2] * v.z, m[3] * v.x + m[4] * v.y + m[5] * v.z,
            m[6] * v.x + m[7] * v.y + m[8] * v.z};
  }
  Mat3 operator*(const Mat3& o) const;
};

// Rotation applying pitch (about +x) first, then yaw (about +y), both in degrees (see top).
Mat3 rotation_yaw_pitch(float yaw_deg, float pitch_deg);

// Bilinear texture lookup, colour in [0, 1]. VRML/OpenGL convention: u = 0 the left edge,
// v = 0 the BOTTOM edge; texel centres at ((i + 0.5) / W, 1 - (j + 0.5) / H); clamped to edge.
Vec3 sample_bilinear(const RgbImage& texture, float u, float v);

// A triangle mesh. Final surface colour = vertex colour x texture colour x shading.
struct Mesh {
  std::vector<Vec3> positions;                 // object space
  std::vector<Vec3> normals;                   // per vertex; empty = area-weighted from triangles
  std::vector<Vec3> colors;                    // per-vertex RGB in [0, 1]; empty = white
  std::vector<Vec2> uvs;                       // per-vertex texture coordinates; needed with texture
  std::shared_ptr<const RgbImage> texture;     // null = untextured
  std::vector<std::array<int, 3>> triangles;   // vertex indices, counter-clockwise from outside
  bool double_sided = true;                    // false: back-facing triangles are culled
};

// Area-weighted per-vertex normals of a mesh (counter-clockwise = outward).
std::vector<Vec3> compute_normals(const Mesh& mesh);

// Where the camera is and how the object is posed in front of it.
struct Camera {
  int width = 128;         // output width in pixels
  int height = 128;        // output height in pixels
  float fov_y_deg = 20.f;  // vertical field of view in degrees
  float distance = 8.f;    // camera on +z at this distance from the origin, looking at it
  float yaw_deg = 0.f;     // object yaw (pan) in degrees: + turns the object's +z to the right
  float pitch_deg = 0.f;   // object pitch (tilt) in degrees: + turns the object's +z up
};

// Shading and sampling.
struct RenderOptions {
  int supersample = 3;                 // samples per pixel side (1..8); box-filtered down
  Vec3 background{0.f, 0.f, 0.f};      // RGB in [0, 1] where nothing is drawn
  Vec3 light_dir{0.3f, 0.4f, 1.f};     // direction toward the light, camera space
  float ambient = 0.35f;               // ambient term
  float diffuse = 0.65f;               // Lambert term weight: shade = ambient + diffuse*max(0,n.l)
};

// A projected point: continuous pixel coordinates and depth (distance along the view axis).
struct Projection {
  float x = 0.f;
  float y = 0.f;
  float depth = 0.f;
};

// Projects an object-space point through the camera (same maths as render()).
Projection project(const Camera& camera, Vec3 p);

// Renders the meshes. When `depth` is given it receives width*height depths (row-major): the
// nearest depth of any sample in each pixel, +infinity where nothing was drawn.
// Throws ConfigError for a bad camera/options, ShapeError for inconsistent mesh arrays.
RgbImage render(const std::vector<Mesh>& meshes, const Camera& camera,
                const RenderOptions& options = {}, std::vector<float>* depth = nullptr);
// The same for meshes held elsewhere (no copies); null pointers are skipped.
RgbImage render(const std::vector<const Mesh*>& meshes, const Camera& camera,
                const RenderOptions& options = {}, std::vector<float>* depth = nullptr);

}  // namespace posefer
