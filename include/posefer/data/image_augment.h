// Augmentation of the real faces the classifier C_exp trains on: flip (with the pose label
// mirrored), shift, zoom, rotation, brightness / contrast jitter and random erasing.
//
// Drawing and applying are separate so that data-parallel ranks draw for the whole global batch
// from one seeded generator (they stay in step) and each applies its own rows' draws.
// Images are float [B, C, H, W] in [-1, 1]; the geometric part is one bilinear resampling
// (border padding), so an image with the identity draw comes back unchanged.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "posefer/core/config.h"

namespace posefer {

// One image's transform.
struct AugmentDraw {
  bool flip = false;
  double tx = 0, ty = 0;      // translation, fraction of the side
  double zoom = 1;            // > 1 magnifies
  double angle = 0;           // degrees, counter-clockwise
  double brightness = 0;      // added, in [-1, 1] units
  double contrast = 1;        // factor around the image mean
  bool erase = false;         // erase the rectangle below (fractions of the side)
  double ex = 0, ey = 0, ew = 0, eh = 0;
};

// `count` draws from `rng` (a fixed number of numbers per draw whatever cfg says is off, so
// changing one setting does not reshuffle the others). Uniform in the ranges of cfg.
std::vector<AugmentDraw> draw_augment(int64_t count, const AugmentConfig& cfg, std::mt19937_64& rng);

// The augmented images and poses: row i uses draws[i]; poses of flipped rows become
// pose_mirror[pose] (pose_mirror empty: poses unchanged). Returns new tensors.
// Throws ShapeError when the sizes do not fit.
std::pair<torch::Tensor, torch::Tensor> apply_augment(const torch::Tensor& images, const torch::Tensor& pose,
                                                      const std::vector<AugmentDraw>& draws,
                                                      const std::vector<int64_t>& pose_mirror);

}  // namespace posefer
