// Fallback face detector from Debian's OpenCV data (package opencv-data): Haar cascades for
// frontal faces and profiles (the profile cascade is run on the image and its mirror, so both
// directions are found). Used where TinyFaceDetector finds nothing (strong profiles, odd
// scales); its boxes then go to FaceLandmark68Net like a detection.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "posefer/face/faceapi_common.h"

namespace posefer {

struct HaarFaceDetectorConfig {
  std::string cascade_dir = "/usr/share/opencv4/haarcascades";  // folder of the cascade XMLs
  std::string frontal = "haarcascade_frontalface_alt2.xml";      // frontal cascade file
  std::string profile = "haarcascade_profileface.xml";           // profile cascade ("" = none)
  double scale_factor = 1.1;     // pyramid step of detectMultiScale
  int min_neighbors = 4;         // detections needed around a hit
  double min_size = 0.15;        // smallest face side as a fraction of the image's shorter side
};

class HaarFaceDetector {
 public:
  // Loads the cascades; throws InputError naming a missing or unreadable cascade file.
  explicit HaarFaceDetector(const HaarFaceDetectorConfig& config = {});
  ~HaarFaceDetector();
  HaarFaceDetector(HaarFaceDetector&&) noexcept;
  HaarFaceDetector& operator=(HaarFaceDetector&&) noexcept;

  // Face boxes in `image` (uint8 [1 or 3, H, W]), frontal hits first, then profiles that do not
  // overlap them (IoU <= 0.3); each group by descending area.
  std::vector<FaceBox> detect(const torch::Tensor& image);

 private:
  struct Cascades;
  HaarFaceDetectorConfig config_;
  std::unique_ptr<Cascades> cascades_;
};

}  // namespace posefer
