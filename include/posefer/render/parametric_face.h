// A procedural 3D head (nothing downloaded): identity from a seed, expression from action-unit-
// like controls, rendered at any head pose with the 68 iBUG landmarks projected into the image.
//
// Geometry. A head surface (deformed ellipsoid with tapered jaw, chin, brow ridge, eye sockets,
// cheekbones, nose with wings, lips, hair volume) split into a dense textured front mesh and a
// per-vertex-coloured back mesh, plus ears, a neck and (long styles) a back-hair shell. The face
// paint (skin, eyes with white/iris/pupil/lids, brows, lips, inner mouth and teeth, nostrils,
// folds and wrinkles, hairline) is a texture drawn per identity and expression; jaw drop also
// moves the lower face down. All positions use the renderer's object space (render.h): +y up,
// +z out of the face; the head is about 2 units tall and the face centre sits near the origin.
//
// Landmarks follow the iBUG 68-point order with the subject's right on the image left in a
// frontal view: 0-16 jaw contour, 17-21 / 22-26 brows, 27-30 nose bridge, 31-35 nostril base,
// 36-41 / 42-47 eyes (corners and lids), 48-59 outer lips, 60-67 inner lips.
//
// Everything is deterministic: the same identity, expression and pose give the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "posefer/render/render.h"

namespace posefer {

// The seven basic expressions (BU-3DFE's six + neutral).
enum class Expression { kNeutral, kHappy, kSad, kAngry, kFear, kDisgust, kSurprise };
constexpr int kNumExpressions = 7;

// "neutral", "happy", "sad", "angry", "fear", "disgust", "surprise" (FER2013 vocabulary).
std::string expression_name(Expression e);
// Inverse of expression_name (also accepts "fearful", "disgusted", "surprised").
// Throws ConfigError listing the names for anything else.
Expression parse_expression(const std::string& name);

// Action-unit-like controls, each 0 (off) .. 1 (strongest); upper_lid_raise may go to -1 (droop).
struct ActionUnits {
  float inner_brow_raise = 0.f;    // AU1: inner brow ends up
  float outer_brow_raise = 0.f;    // AU2: outer brow ends up
  float brow_lower = 0.f;          // AU4: brows down and drawn together, frown lines
  float upper_lid_raise = 0.f;     // AU5: eyes wide (white above the iris); < 0 droops
  float cheek_raise = 0.f;         // AU6: cheeks up, lower lids up, smile folds
  float lid_tighten = 0.f;         // AU7: narrowed eyes
  float nose_wrinkle = 0.f;        // AU9: wrinkled bridge, flared nostrils
  float upper_lip_raise = 0.f;     // AU10: upper lip up, upper teeth show
  float lip_corner_pull = 0.f;     // AU12: mouth corners up and out (smile)
  float lip_corner_depress = 0.f;  // AU15: mouth corners down
  float lip_stretch = 0.f;         // AU20: mouth stretched sideways
  float lip_press = 0.f;           // AU24: lips pressed thin
  float jaw_drop = 0.f;            // AU26/27: mouth opens, chin moves down
};

// Intensity 1..4 (BU-3DFE levels; 4 = strongest) to the AU scale factor (0.45, 0.65, 0.85, 1).
// Throws ConfigError outside 1..4.
float intensity_scale(int intensity);

// The action units of a basic expression at intensity 1..4 (neutral: all zero).
ActionUnits expression_action_units(Expression e, int intensity);

// Who the person is. Lengths are in face-plane units (the head's half-width is 1).
struct FaceIdentity {
  float head_width = 0.68f;     // head half-width (x semi-axis), object units
  float head_height = 1.0f;     // head half-height (y semi-axis)
  float head_depth = 0.86f;     // head half-depth (z semi-axis)
  float jaw_width = 0.80f;      // lower-face width relative to the cheekbones (0.65 .. 0.95)
  float chin_length = 0.0f;     // extra chin drop (-0.05 .. 0.06)
  float nose_length = 0.34f;    // eye line to nose tip
  float nose_width = 0.13f;     // half-width of the nose wings
  float nose_height = 0.30f;    // how far the tip stands out (object units)
  float eye_spacing = 0.36f;    // |x| of the eye centres
  float eye_size = 1.0f;        // scale of the eyes (0.85 .. 1.15)
  float mouth_width = 0.26f;    // half-width of the mouth at rest
  float lip_thickness = 1.0f;   // scale of lip heights (0.7 .. 1.35)
  float brow_thickness = 1.0f;  // scale of brow thickness (0.7 .. 1.4)
  float brow_arch = 0.5f;       // 0 straight .. 1 arched
  float brow_height = 0.0f;     // brow offset above the default (-0.03 .. 0.04)
  float hairline = 0.52f;       // face-plane height of the front hairline
  int hair_style = 0;           // 0 short, 1 side-parted, 2 long, 3 fringe, 4 receding
  float ear_size = 1.0f;        // ear scale
  Vec3 skin{0.85f, 0.68f, 0.56f};  // skin RGB in [0, 1]
  Vec3 hair{0.20f, 0.14f, 0.10f};  // hair RGB
  Vec3 iris{0.35f, 0.22f, 0.12f};  // iris RGB
};

// Person number `index` of the population drawn from `seed`: distinct, reproducible people
// (same seed and index -> same identity on every platform).
FaceIdentity face_identity(uint64_t seed, int index);

// How a face is built.
struct FaceBuildOptions {
  int texture_size = 256;  // side of the face-paint texture in texels (64 .. 2048)
  int grid = 88;           // front-mesh vertices per side (32 .. 400)
};

// A built face: meshes and 3D landmarks in object space (pose-free).
struct FaceModel {
  std::vector<Mesh> meshes;           // head: front (textured), back, ears, hair
  Mesh neck;                          // turns with the head's yaw but not its pitch
  Vec3 neck_joint;                    // where the neck meets the head (pitch pivot)
  std::array<Vec3, 68> landmarks;     // iBUG 68 points on the surface
};

// Builds the head of `identity` showing `expression`. Throws ConfigError on bad options.
FaceModel build_face(const FaceIdentity& identity, const ActionUnits& expression,
                     const FaceBuildOptions& options = {});

// A head pose: yaw (pan, + = face turns to the image right) and pitch (tilt, + = face turns up).
struct HeadPose {
  float yaw_deg = 0.f;    // pan in degrees
  float pitch_deg = 0.f;  // tilt in degrees
};

// "p+15_t-30" style name: pan and tilt as signed integers (rounded).
std::string pose_name(const HeadPose& pose);

// Pose list from a preset or a list. "bu3dfe": 35 views, pan 0, +-15, +-30, +-45 x tilt 0, +-15,
// +-30 (tilt-major, pans ascending); "multipie": pans -30, -15, 0, 15, 30 (tilt 0); otherwise a
// comma list of "PAN" or "PAN:TILT" degrees, e.g. "-30,0,30" or "0:0,30:-15". Throws
// ConfigError naming the bad item (and for |angle| > 90 or an empty list).
std::vector<HeadPose> parse_poses(const std::string& spec);

// How a face is rendered.
struct FaceRenderOptions {
  int size = 128;                        // output image side in pixels
  int supersample = 3;                   // anti-aliasing samples per pixel side
  Vec3 background{0.36f, 0.38f, 0.42f};  // RGB where nothing is drawn
  float fov_y_deg = 10.5f;               // camera vertical field of view
  float distance = 12.5f;                // camera distance from the face centre
};

// One rendered view.
struct FaceRender {
  RgbImage image;                    // size x size RGB
  std::array<Vec2, 68> landmarks;    // pixel coordinates (continuous; pixel i covers [i, i+1))
  std::array<bool, 68> visible;      // in the image and not hidden by the head itself
};

// Renders the built face at a pose. Throws ConfigError on bad options.
FaceRender render_face(const FaceModel& face, const HeadPose& pose,
                       const FaceRenderOptions& options = {});

}  // namespace posefer
