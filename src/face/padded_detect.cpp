#include "posefer/face/padded_detect.h"

#include <algorithm>
#include <cmath>

namespace posefer {

std::vector<Face> detect_padded(FaceDetector& detector, const torch::Tensor& image) {
  std::vector<Face> faces;
  int64_t pad = 0;
  const double threshold = detector.config().detector.score_threshold;
  for (double t : {threshold, std::min(threshold, kFallbackLowScore)}) {
    for (double fraction : kFallbackPaddings) {
      pad = std::llround(fraction * static_cast<double>(std::max(image.size(-2), image.size(-1))));
      faces = detector.detect(torch::constant_pad_nd(image, {pad, pad, pad, pad}, 0), t);
      if (!faces.empty()) break;
    }
    if (!faces.empty()) {
      if (t < threshold) faces.resize(1);  // the weak pass: the best box only (sorted by score)
      break;
    }
  }
  const double d = static_cast<double>(pad);
  for (Face& f : faces) {
    f.box.x -= d;
    f.box.y -= d;
    f.aligned_rect.x -= d;
    f.aligned_rect.y -= d;
    for (Point2d& q : f.landmarks) {
      q.x -= d;
      q.y -= d;
    }
  }
  return faces;
}

}  // namespace posefer
