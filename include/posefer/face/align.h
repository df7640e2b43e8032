// Face alignment: a least-squares similarity transform (Umeyama, no reflection) from five
// landmark points (eye centres, nose tip, mouth corners) of the 68 iBUG landmarks to a canonical
// template, and the N x N crop it gives, in [-1, 1] (the model range, paper §3.1 / §4.2).
//
// The template is the ArcFace 5-point template (112 x 112), scaled to N with `margin` of extra
// context on each side, so every face gets the same geometry. The transform and the landmarks
// are kept so a face can be mapped back to the photo.
#pragma once

#include <torch/torch.h>

#include <array>
#include <vector>

#include "posefer/face/landmark68.h"

namespace posefer {

struct AlignConfig {
  int size = 128;        // N: side of the aligned crop in pixels
  int channels = 3;      // 1 (grey) or 3 (RGB) output channels
  double margin = 0.1;   // extra context on each side, as a fraction of the template's 112 px box
  void validate() const;  // throws ConfigError naming the field
};

// x' = a*x - b*y + tx, y' = b*x + a*y + ty (scale s = hypot(a, b), rotation atan2(b, a)).
struct SimilarityTransform {
  double a = 1, b = 0, tx = 0, ty = 0;  // rotation-scale (a, b) and translation (tx, ty)
  Point2d apply(const Point2d& p) const;
  SimilarityTransform inverse() const;
  double scale() const;
  // The 2x3 matrix [[a, -b, tx], [b, a, ty]] (row-major), as cv::warpAffine takes it.
  std::array<double, 6> matrix() const;
};

// The least-squares similarity mapping src[i] to dst[i] (sizes equal, >= 2, src not all equal):
// minimises sum |dst - T(src)|^2 over scale, rotation and translation (closed form).
// Throws ShapeError for mismatched or degenerate point sets.
SimilarityTransform fit_similarity(const std::vector<Point2d>& src, const std::vector<Point2d>& dst);

// The five alignment points of 68 landmarks: centre of 36-41 (image-left eye), centre of 42-47,
// nose tip 30, mouth corners 48 and 54. Throws ShapeError unless there are 68 landmarks.
std::vector<Point2d> alignment_points(const Landmarks68& landmarks);

// The five template points in an N x N crop for `config`.
std::vector<Point2d> alignment_template(const AlignConfig& config);

// One aligned face.
struct AlignedFace {
  torch::Tensor image;             // float [channels, N, N] in [-1, 1]
  SimilarityTransform transform;   // photo pixels -> crop pixels (inverse() maps back)
  Landmarks68 landmarks;           // in photo pixels
  Landmarks68 crop_landmarks;      // in crop pixels
};

// Aligns the face with `landmarks` in `image` (uint8 [1 or 3, H, W], RGB): bilinear warp, border
// pixels replicated. Throws ShapeError on a bad image or landmark count, ConfigError on config.
AlignedFace align_face(const torch::Tensor& image, const Landmarks68& landmarks,
                       const AlignConfig& config);

}  // namespace posefer
