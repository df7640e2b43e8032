#include "posefer/face/face_detector.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "posefer/core/check.h"

namespace posefer {

FaceDetector::FaceDetector(const FaceDetectorConfig& config) : config_(config) {
  config_.detector.validate();
  POSEFER_CHECK_CONFIG(config_.landmarks || !config_.expressions,
                       "expressions need landmarks (face-api crops the expression net's input "
                       "from the landmarks)");
  if (config_.model_dir.empty()) config_.model_dir = default_faceapi_model_dir();
  detector_ = load_tiny_face_detector(config_.model_dir);
  if (config_.landmarks) landmarks_ = load_landmark68_net(config_.model_dir);
  if (config_.expressions) expressions_ = load_expression_net(config_.model_dir);
}

torch::Tensor FaceDetector::detector_raw(const torch::Tensor& image) {
  return detector_->raw_map(image, config_.detector.input_size);
}

std::vector<Face> FaceDetector::detect(const torch::Tensor& input) {
  return detect(input, config_.detector.score_threshold);
}

std::vector<Face> FaceDetector::detect(const torch::Tensor& input, double score_threshold) {
  auto image = faceapi_check_image(input, "FaceDetector");
  const int64_t h = image.size(1), w = image.size(2);
  const double scale = config_.max_side > 0 && std::max(h, w) > config_.max_side
                           ? static_cast<double>(config_.max_side) / std::max(h, w)
                           : 1.0;
  if (scale < 1.0) {
    // Shrink the uint8 photo before anything is converted to float.
    const auto hwc = image.permute({1, 2, 0}).contiguous();
    const cv::Mat src(static_cast<int>(h), static_cast<int>(w), CV_8UC3, hwc.data_ptr<uint8_t>());
    const int sw = std::max(1, static_cast<int>(std::lround(w * scale)));
    const int sh = std::max(1, static_cast<int>(std::lround(h * scale)));
    cv::Mat small;
    cv::resize(src, small, cv::Size(sw, sh), 0, 0, cv::INTER_AREA);
    image = torch::from_blob(small.data, {sh, sw, 3}, torch::kUInt8).permute({2, 0, 1}).clone();
  }
  std::vector<FaceBox> boxes;
  std::vector<double> scores;
  TinyFaceDetectorConfig detector = config_.detector;
  detector.score_threshold = score_threshold;
  for (const auto& d : detector_->detect(image, detector)) {
    boxes.push_back(d.box);
    scores.push_back(d.score);
  }
  auto faces = describe(image, boxes, scores);
  if (scale < 1.0) {
    // Back to the photo's pixels (per-axis factors: the shrunk sides were rounded).
    const double sx = static_cast<double>(w) / image.size(2), sy = static_cast<double>(h) / image.size(1);
    auto unscale = [&](FaceBox& b) { b = FaceBox{b.x * sx, b.y * sy, b.width * sx, b.height * sy}; };
    for (auto& f : faces) {
      unscale(f.box);
      unscale(f.aligned_rect);
      for (auto& p : f.landmarks) p = Point2d{p.x * sx, p.y * sy};
    }
  }
  return faces;
}

std::vector<Face> FaceDetector::describe(const torch::Tensor& input, const std::vector<FaceBox>& all_boxes,
                                         const std::vector<double>& scores) {
  POSEFER_CHECK_SHAPE(all_boxes.size() == scores.size(), "describe: ", all_boxes.size(),
                      " boxes but ", scores.size(), " scores");
  const auto image = faceapi_check_image(input, "FaceDetector");
  const int64_t h = image.size(1), w = image.size(2);
  std::vector<Face> faces;
  std::vector<FaceBox> boxes;
  for (size_t i = 0; i < all_boxes.size(); ++i) {
    const PixelRect r = clip_box_to_image(all_boxes[i], w, h);
    if (r.width <= 0 || r.height <= 0) continue;  // entirely outside the photo: nothing to crop
    Face f;
    f.box = all_boxes[i];
    f.score = scores[i];
    faces.push_back(f);
    boxes.push_back(all_boxes[i]);
  }
  if (!config_.landmarks || faces.empty()) return faces;
  const auto lms = landmarks_->detect(image, boxes);
  std::vector<FaceBox> aligned;
  for (size_t i = 0; i < faces.size(); ++i) {
    faces[i].landmarks = lms[i];
    faces[i].aligned_rect = landmarks_box(lms[i]);
    const PixelRect r = clip_box_to_image(faces[i].aligned_rect, w, h);
    aligned.push_back(r.width > 0 && r.height > 0 ? faces[i].aligned_rect : faces[i].box);
  }
  if (!config_.expressions) return faces;
  const auto probs = expressions_->predict(image, aligned).to(torch::kFloat64).contiguous();
  for (size_t i = 0; i < faces.size(); ++i) {
    const double* p = probs[i].data_ptr<double>();
    faces[i].expressions.assign(p, p + probs.size(1));
  }
  return faces;
}

nlohmann::ordered_json faces_to_json(const std::vector<Face>& faces) {
  auto box_json = [](const FaceBox& b) {
    return nlohmann::ordered_json{{"x", b.x}, {"y", b.y}, {"width", b.width}, {"height", b.height}};
  };
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& f : faces) {
    nlohmann::ordered_json j{{"score", f.score}, {"box", box_json(f.box)}};
    if (!f.landmarks.empty()) {
      nlohmann::ordered_json pts = nlohmann::ordered_json::array();
      for (const auto& p : f.landmarks) pts.push_back({p.x, p.y});
      j["landmarks"] = pts;
      j["alignedRect"] = box_json(f.aligned_rect);
    }
    if (!f.expressions.empty()) {
      nlohmann::ordered_json e = nlohmann::ordered_json::object();
      for (size_t k = 0; k < f.expressions.size() && k < kFaceApiExpressions.size(); ++k) {
        e[kFaceApiExpressions[k]] = f.expressions[k];
      }
      j["expressions"] = e;
    }
    out.push_back(j);
  }
  return out;
}

torch::Tensor draw_faces(const torch::Tensor& input, const std::vector<Face>& faces) {
  const auto image = faceapi_check_image(input, "draw_faces");
  const int h = static_cast<int>(image.size(1)), w = static_cast<int>(image.size(2));
  auto hwc = image.permute({1, 2, 0}).contiguous();
  cv::Mat mat(h, w, CV_8UC3, hwc.data_ptr<uint8_t>());
  const int thick = std::max(1, std::max(h, w) / 500);
  for (const auto& f : faces) {
    cv::rectangle(mat, cv::Point(cvRound(f.box.x), cvRound(f.box.y)),
                  cv::Point(cvRound(f.box.x + f.box.width), cvRound(f.box.y + f.box.height)),
                  cv::Scalar(0, 255, 0), thick);
    for (const auto& p : f.landmarks) {
      cv::circle(mat, cv::Point(cvRound(p.x), cvRound(p.y)), thick + 1, cv::Scalar(255, 0, 0),
                 cv::FILLED);
    }
  }
  return hwc.permute({2, 0, 1}).contiguous();
}

}  // namespace posefer
