// `posefer make-faces`: renders a multi-pose expression face set from the parametric face model
// (parametric_face.h), with a manifest the `manifest:` reader loads and ground-truth landmarks.
//
// Layout written under `out`:
//   images/<subject>/<subject>_<expression>_<pose>.png   size x size RGB
//   manifest.csv    path,subject,expression,pose,intensity,yaw,pitch (paths relative to the CSV;
//                   rows by subject, then expression and pose in the job's order; neutral
//                   has intensity 0)
//   landmarks.csv   path,x0,y0,v0,...,x67,y67,v67 (iBUG 68 points in pixels, v = visible 0/1)
// Subjects are "s0001", "s0002", ...; poses are named by pose_name() ("p+15_t-30").
// Every file is written atomically (temp file in the same folder, then rename); the output is
// the same bytes for the same job whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "posefer/render/parametric_face.h"
#include "posefer/render/render.h"

namespace posefer {

// What `posefer make-faces` renders.
struct MakeFacesJob {
  int identities = 60;                // number of people
  std::string poses = "bu3dfe";       // bu3dfe | multipie | PAN[:TILT],... (parse_poses)
  std::string expressions = "basic7"; // basic7 (with neutral) | basic6 | comma list of names
  int size = 128;                     // image side in pixels
  int intensity = 4;                  // expression intensity 1..4 (BU-3DFE levels)
  uint64_t seed = 1;                  // population seed (face_identity)
  std::string out;                    // output directory (created)
  int threads = 0;                    // worker threads; 0 = all cores
  int supersample = 3;                // anti-aliasing samples per pixel side
  bool progress = true;               // draw a progress bar on stderr
  // Polled before each face (expression of a person); true = finish the faces being drawn, write
  // the manifest and landmarks of what exists and return with MakeFacesResult::interrupted set.
  // Null = never.
  std::function<bool()> should_stop;
};

// What was written.
struct MakeFacesResult {
  int64_t images = 0;      // images rendered
  std::string manifest;    // path of manifest.csv
  std::string landmarks;   // path of landmarks.csv
  double seconds = 0.0;    // wall time
  int64_t reused = 0;      // images kept from an earlier, interrupted run into the same folder
  bool interrupted = false;  // should_stop ended the job; run it again to finish
};

// Expressions from "basic7" (neutral first, then happy, sad, angry, fear, disgust, surprise),
// "basic6" (without neutral) or a comma list of names. Throws ConfigError for unknown names.
std::vector<Expression> parse_expressions(const std::string& spec);

// Renders the set. Throws ConfigError for bad job values, Error when a file cannot be written.
// Resumable: a rerun into the same folder with the same settings (recorded in make_faces.json)
// keeps the faces whose images and landmark rows an earlier run wrote and draws the rest; the
// output is the same bytes as an uninterrupted run.
MakeFacesResult make_faces(const MakeFacesJob& job);

// A contact sheet: for each of `identities` people (seed, indices 0..), a block with one row per
// expression and one column per pose, blocks side by side; `pad` background pixels between
// tiles and 4*pad between blocks.
RgbImage face_sheet(uint64_t seed, int identities, const std::vector<Expression>& expressions,
                    const std::vector<HeadPose>& poses, int size, int intensity, int pad = 2);

// Writes `size` bytes to `path` durably (durable_file.h: temp in the same folder, fsync, rename,
// fsync of the folder; creates parent folders). Throws Error naming the path on failure.
void write_bytes_atomic(const std::string& path, const char* data, size_t size);

// Writes an RGB image as PNG atomically (temp file + rename; creates parent folders), zlib
// `compression` 0..9 (9 = smallest, slowest). Throws Error naming the path on failure.
void write_rgb_png(const std::string& path, const RgbImage& image, int compression = 3);

}  // namespace posefer
