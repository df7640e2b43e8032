#include "posefer/face/haar_face_detector.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <filesystem>

#include "posefer/core/check.h"

namespace posefer {

struct HaarFaceDetector::Cascades {
  cv::CascadeClassifier frontal;
  cv::CascadeClassifier profile;
  bool has_profile = false;
};

namespace {
void load_cascade(cv::CascadeClassifier& c, const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(path + ": Haar cascade not found (install the Debian package opencv-data)");
  }
  bool ok = false;
  try {
    ok = c.load(path);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok || c.empty()) throw InputError(path + ": cannot read Haar cascade (corrupt file?)");
}

std::vector<FaceBox> by_area(const std::vector<cv::Rect>& rects) {
  std::vector<FaceBox> out;
  for (const auto& r : rects) out.push_back({double(r.x), double(r.y), double(r.width), double(r.height)});
  std::stable_sort(out.begin(), out.end(), [](const FaceBox& a, const FaceBox& b) { return a.area() > b.area(); });
  return out;
}
}  // namespace

HaarFaceDetector::HaarFaceDetector(const HaarFaceDetectorConfig& config)
    : config_(config), cascades_(std::make_unique<Cascades>()) {
  POSEFER_CHECK_CONFIG(config.scale_factor > 1.0, "Haar scale_factor must be > 1, got ",
                       config.scale_factor);
  POSEFER_CHECK_CONFIG(config.min_size > 0 && config.min_size <= 1, "Haar min_size must be in (0, 1], got ",
                       config.min_size);
  const std::filesystem::path dir(config.cascade_dir);
  load_cascade(cascades_->frontal, (dir / config.frontal).string());
  if (!config.profile.empty()) {
    load_cascade(cascades_->profile, (dir / config.profile).string());
    cascades_->has_profile = true;
  }
}

HaarFaceDetector::~HaarFaceDetector() = default;
HaarFaceDetector::HaarFaceDetector(HaarFaceDetector&&) noexcept = default;
HaarFaceDetector& HaarFaceDetector::operator=(HaarFaceDetector&&) noexcept = default;

std::vector<FaceBox> HaarFaceDetector::detect(const torch::Tensor& image) {
  POSEFER_CHECK_SHAPE(image.defined() && image.dim() == 3 && image.scalar_type() == torch::kUInt8 &&
                          (image.size(0) == 1 || image.size(0) == 3) && image.size(1) > 0 &&
                          image.size(2) > 0,
                      "HaarFaceDetector: expected a uint8 [1 or 3, H, W] image, got ",
                      image.defined() ? image.sizes() : torch::IntArrayRef{});
  const int c = static_cast<int>(image.size(0));
  auto hwc = image.permute({1, 2, 0}).contiguous();
  cv::Mat src(static_cast<int>(image.size(1)), static_cast<int>(image.size(2)), CV_8UC(c),
              hwc.data_ptr<uint8_t>());
  cv::Mat plain, grey;
  if (c == 3) cv::cvtColor(src, plain, cv::COLOR_RGB2GRAY);
  else plain = src;  // may alias the caller's tensor: never written
  cv::equalizeHist(plain, grey);
  const int min_side =
      std::max(12, static_cast<int>(config_.min_size * std::min(grey.rows, grey.cols)));
  const cv::Size min_size(min_side, min_side);
  std::vector<cv::Rect> hits;
  cascades_->frontal.detectMultiScale(grey, hits, config_.scale_factor, config_.min_neighbors, 0, min_size);
  std::vector<FaceBox> out = by_area(hits);
  if (cascades_->has_profile) {
    std::vector<cv::Rect> prof, mirrored;
    cascades_->profile.detectMultiScale(grey, prof, config_.scale_factor, config_.min_neighbors, 0, min_size);
    cv::Mat flipped;
    cv::flip(grey, flipped, 1);
    cascades_->profile.detectMultiScale(flipped, mirrored, config_.scale_factor, config_.min_neighbors, 0,
                                        min_size);
    for (auto r : mirrored) {
      r.x = grey.cols - r.x - r.width;
      prof.push_back(r);
    }
    for (const auto& b : by_area(prof)) {
      bool overlaps = false;
      for (const auto& k : out) overlaps = overlaps || box_iou(b, k) > 0.3;
      if (!overlaps) out.push_back(b);
    }
  }
  return out;
}

}  // namespace posefer
