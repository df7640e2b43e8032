// Face detection on tight face crops, where TinyFaceDetector alone finds nothing because the face
// fills the frame (FER2013's 48 x 48 crops; many GENKI-4K photos): the photo is padded with black
// on every side so that the face fills only part of what the detector sees, as in the photos it
// was trained on. Shared by `posefer classify` / the Recognizer (face_finder.h, the "padded"
// fallback) and data-set alignment (dataset_align.h, `--padded-fallback`), so that a model sees
// the same faces when it is applied as when it was trained.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "posefer/face/face_detector.h"

namespace posefer {

// Paddings on each side, as fractions of the photo's longer side, tried in order until the
// detector finds a face.
inline constexpr double kFallbackPaddings[] = {0.25, 0.5, 1.0, 2.0};
// The second pass's detector score threshold (face-api's default is 0.5). Chosen on 372 FER2013
// Training images (never test ones): 0.5 finds a face in 85%, 0.3 in 91%, 0.2 in 94%, 0.1 in 98%.
inline constexpr double kFallbackLowScore = 0.1;

// `detector` on `image` (uint8 [C, H, W], as FaceDetector::detect) padded by each of
// kFallbackPaddings in turn, first at the detector's own score threshold, then at
// min(threshold, kFallbackLowScore) keeping only the best box (a tight crop holds one face).
// Boxes, aligned rects and landmarks are mapped back to `image`'s pixels. Empty when no pass
// finds a face. Throws what FaceDetector::detect throws.
std::vector<Face> detect_padded(FaceDetector& detector, const torch::Tensor& image);

}  // namespace posefer
