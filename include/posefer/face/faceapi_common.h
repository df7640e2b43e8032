// Building blocks shared by the face-api network ports (TinyFaceDetector, FaceLandmark68Net,
// FaceExpressionNet): boxes, the face-api input preprocessing (pad to square, TF-legacy bilinear
// resize, mean/scale normalisation, face crops) and the separable convolution with TF padding.
//
// Everything follows ../shared/reference/faceapi/SPEC.md, which reproduces face-api 1.7.15
// bit-for-bit up to float rounding. Images are uint8 [3, H, W] in RGB order.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>

#include "posefer/face/faceapi_weights.h"

namespace posefer {

// An axis-aligned box in image pixels (x, y = top-left corner; not clipped to the image).
struct FaceBox {
  double x = 0;       // left
  double y = 0;       // top
  double width = 0;   // extent to the right
  double height = 0;  // extent downwards
  double area() const { return width * height; }
};

// Intersection over union (area = w * h, no +1); 0 when either box is empty.
double box_iou(const FaceBox& a, const FaceBox& b);

// face-api's Box.clipAtImageBorders: x0 = max(x, 0), y0 = max(y, 0),
// w = min(x + width - x0, W - x0), h = min(y + height - y0, H - y0), then all four floored.
// The result may be empty (w or h <= 0) for a box outside the image.
struct PixelRect {
  int64_t x = 0, y = 0, width = 0, height = 0;
};
PixelRect clip_box_to_image(const FaceBox& box, int64_t image_width, int64_t image_height);

// Pads [C, H, W] with zeros to [C, M, M], M = max(H, W). Not centred: all padding goes to the
// bottom (W > H) or right (H > W). Centred: d = |H - W|, round_half_up(d / 2) appended at the
// bottom/right, the rest prepended at the top/left. Keeps the dtype.
torch::Tensor pad_to_square(const torch::Tensor& image, bool centered);

// TF 1.x legacy bilinear resize (align_corners = false, half_pixel_centers = false) of [C, H, W]
// (any dtype) to float [C, out_h, out_w]: src = dst * in / out, i0 = floor(src),
// i1 = min(in - 1, ceil(src)), lerp along x then y (double arithmetic, as tfjs's CPU kernel).
torch::Tensor resize_bilinear_tf_legacy(const torch::Tensor& image, int64_t out_h, int64_t out_w);

// face-api's toBatchTensor for one image: pad_to_square(centered), resize to side x side
// (skipped when already that size), (x - mean_rgb) / divisor -> float [1, 3, side, side].
torch::Tensor faceapi_input(const torch::Tensor& image, int64_t side, bool centered,
                            const std::array<double, 3>& mean_rgb, double divisor = 255.0);

// Validates a uint8 [3, H, W] (or grey [1, H, W], expanded to 3 channels) image for the face
// nets; throws ShapeError naming `what` otherwise.
torch::Tensor faceapi_check_image(const torch::Tensor& image, const std::string& what);

// TF 'SAME' padding of an NCHW tensor for a k x k window at `stride`: total = max((ceil(n / s)
// - 1) * s + k - n, 0), floor(total / 2) before, the rest after; pad value `value`.
torch::Tensor tf_same_pad(const torch::Tensor& x, int64_t kernel, int64_t stride, double value = 0);

// Depthwise 3x3 (no bias) + pointwise 1x1 (+ bias), TF 'SAME' padding; no activation.
struct SeparableConvImpl : torch::nn::Module {
  SeparableConvImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x, int64_t stride = 1);
  // Copies `<prefix>/depthwise_filter`, `<prefix>/pointwise_filter`, `<prefix>/bias`.
  void load_weights(const FaceApiWeights& weights, const std::string& prefix);

  int64_t in_channels, out_channels;
  torch::nn::Conv2d depthwise{nullptr};
  torch::nn::Conv2d pointwise{nullptr};
};
TORCH_MODULE(SeparableConv);

// Copies `<prefix>/filters` [k, k, in, out] and `<prefix>/bias` into a plain conv.
void load_conv_weights(torch::nn::Conv2d& conv, const FaceApiWeights& weights,
                       const std::string& prefix);

}  // namespace posefer
