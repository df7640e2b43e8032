#include "posefer/face/align.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"

namespace posefer {
namespace {
// ArcFace's 5-point template in a 112 x 112 crop (eyes, nose tip, mouth corners).
constexpr double kTemplate112[5][2] = {{38.2946, 51.6963},
                                       {73.5318, 51.5014},
                                       {56.0252, 71.7366},
                                       {41.5493, 92.3655},
                                       {70.7299, 92.2041}};
}  // namespace

void AlignConfig::validate() const {
  POSEFER_CHECK_CONFIG(size >= 8 && size <= 4096, "align size must be in [8, 4096], got ", size);
  POSEFER_CHECK_CONFIG(channels == 1 || channels == 3, "align channels must be 1 or 3, got ",
                       channels);
  POSEFER_CHECK_CONFIG(margin >= 0 && margin <= 2, "align margin must be in [0, 2], got ", margin);
}

Point2d SimilarityTransform::apply(const Point2d& p) const {
  return {a * p.x - b * p.y + tx, b * p.x + a * p.y + ty};
}

SimilarityTransform SimilarityTransform::inverse() const {
  const double d = a * a + b * b;
  SimilarityTransform inv;
  inv.a = a / d;
  inv.b = -b / d;
  // inv(p) = R^-1 (p - t)
  inv.tx = -(inv.a * tx - inv.b * ty);
  inv.ty = -(inv.b * tx + inv.a * ty);
  return inv;
}

double SimilarityTransform::scale() const { return std::hypot(a, b); }

std::array<double, 6> SimilarityTransform::matrix() const { return {a, -b, tx, b, a, ty}; }

SimilarityTransform fit_similarity(const std::vector<Point2d>& src, const std::vector<Point2d>& dst) {
  POSEFER_CHECK_SHAPE(src.size() == dst.size() && src.size() >= 2,
                      "fit_similarity needs two equal-size sets of >= 2 points, got ", src.size(),
                      " and ", dst.size());
  const double n = static_cast<double>(src.size());
  Point2d ms, md;
  for (size_t i = 0; i < src.size(); ++i) {
    ms.x += src[i].x / n;
    ms.y += src[i].y / n;
    md.x += dst[i].x / n;
    md.y += dst[i].y / n;
  }
  // With centred x, y: a = sum(x . y) / sum|x|^2, b = sum(x cross y) / sum|x|^2 (Umeyama in 2-D
  // without reflection).
  double sxx = 0, dot = 0, cross = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    const double x1 = src[i].x - ms.x, x2 = src[i].y - ms.y;
    const double y1 = dst[i].x - md.x, y2 = dst[i].y - md.y;
    sxx += x1 * x1 + x2 * x2;
    dot += x1 * y1 + x2 * y2;
    cross += x1 * y2 - x2 * y1;
  }
  POSEFER_CHECK_SHAPE(sxx > 1e-12, "fit_similarity: the source points coincide");
  SimilarityTransform t;
  t.a = dot / sxx;
  t.b = cross / sxx;
  t.tx = md.x - (t.a * ms.x - t.b * ms.y);
  t.ty = md.y - (t.b * ms.x + t.a * ms.y);
  return t;
}

std::vector<Point2d> alignment_points(const Landmarks68& lm) {
  POSEFER_CHECK_SHAPE(lm.size() == 68, "alignment needs 68 landmarks, got ", lm.size());
  auto centre = [&](int from, int to) {
    Point2d c;
    for (int i = from; i <= to; ++i) {
      c.x += lm[i].x / (to - from + 1);
      c.y += lm[i].y / (to - from + 1);
    }
    return c;
  };
  return {centre(36, 41), centre(42, 47), lm[30], lm[48], lm[54]};
}

std::vector<Point2d> alignment_template(const AlignConfig& config) {
  config.validate();
  std::vector<Point2d> t;
  const double scale = config.size / (112.0 * (1 + 2 * config.margin));
  for (const auto& p : kTemplate112) {
    t.push_back({(p[0] + 112.0 * config.margin) * scale, (p[1] + 112.0 * config.margin) * scale});
  }
  return t;
}

AlignedFace align_face(const torch::Tensor& image, const Landmarks68& landmarks,
                       const AlignConfig& config) {
  config.validate();
  POSEFER_CHECK_SHAPE(image.defined() && image.dim() == 3 && image.scalar_type() == torch::kUInt8 &&
                          (image.size(0) == 1 || image.size(0) == 3) && image.size(1) > 0 &&
                          image.size(2) > 0,
                      "align_face: expected a non-empty uint8 [1 or 3, H, W] image, got ",
                      image.defined() ? image.sizes() : torch::IntArrayRef{});
  AlignedFace out;
  out.landmarks = landmarks;
  out.transform = fit_similarity(alignment_points(landmarks), alignment_template(config));
  for (const auto& p : landmarks) out.crop_landmarks.push_back(out.transform.apply(p));

  const int c = static_cast<int>(image.size(0));
  auto hwc = image.permute({1, 2, 0}).contiguous();
  cv::Mat src(static_cast<int>(image.size(1)), static_cast<int>(image.size(2)), CV_8UC(c),
              hwc.data_ptr<uint8_t>());
  if (c != config.channels) {
    cv::Mat conv;
    cv::cvtColor(src, conv, c == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_RGB2GRAY);
    src = conv;
  }
  const auto m = out.transform.matrix();
  cv::Mat mat = (cv::Mat_<double>(2, 3) << m[0], m[1], m[2], m[3], m[4], m[5]);
  cv::Mat warped;
  cv::warpAffine(src, warped, mat, cv::Size(config.size, config.size), cv::INTER_LINEAR,
                 cv::BORDER_REPLICATE);
  auto t = torch::from_blob(warped.data, {config.size, config.size, config.channels}, torch::kUInt8)
               .permute({2, 0, 1})
               .clone();
  out.image = to_model_range(t);
  return out;
}

}  // namespace posefer
