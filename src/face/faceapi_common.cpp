#include "posefer/face/faceapi_common.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "posefer/core/check.h"

namespace posefer {

namespace F = torch::nn::functional;

double box_iou(const FaceBox& a, const FaceBox& b) {
  const double iw = std::max(0.0, std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x));
  const double ih = std::max(0.0, std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y));
  const double inter = iw * ih;
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

PixelRect clip_box_to_image(const FaceBox& box, int64_t image_width, int64_t image_height) {
  const double x0 = std::max(box.x, 0.0);
  const double y0 = std::max(box.y, 0.0);
  const double w = std::min(box.x + box.width - x0, static_cast<double>(image_width) - x0);
  const double h = std::min(box.y + box.height - y0, static_cast<double>(image_height) - y0);
  PixelRect r;
  r.x = static_cast<int64_t>(std::floor(x0));
  r.y = static_cast<int64_t>(std::floor(y0));
  r.width = static_cast<int64_t>(std::floor(w));
  r.height = static_cast<int64_t>(std::floor(h));
  return r;
}

torch::Tensor pad_to_square(const torch::Tensor& image, bool centered) {
  POSEFER_CHECK_SHAPE(image.dim() == 3, "pad_to_square: image must be [C, H, W], got ",
                      image.sizes());
  const int64_t h = image.size(1), w = image.size(2);
  if (h == w) return image;
  const int64_t d = std::abs(h - w);
  // Math.round(d / 2) for d >= 0 is round half up.
  const int64_t append = centered ? (d + 1) / 2 : d;
  const int64_t prepend = d - append;
  if (w > h) return F::pad(image, F::PadFuncOptions({0, 0, prepend, append}));  // rows
  return F::pad(image, F::PadFuncOptions({prepend, append, 0, 0}));              // columns
}

namespace {

// Bilinear taps of one axis, as tfjs: ratio = in / out (double), src = ratio * dst.
struct Tap {
  int64_t i0, i1;
  double f;
};
std::vector<Tap> taps(int64_t in, int64_t n) {
  std::vector<Tap> t(n);
  const double ratio = static_cast<double>(in) / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double s = ratio * static_cast<double>(i);
    const double fl = std::max(0.0, std::floor(s));
    t[i] = {static_cast<int64_t>(fl), std::min(in - 1, static_cast<int64_t>(std::ceil(s))), s - fl};
  }
  return t;
}

// TF-legacy resize of a `virt_h` x `virt_w` image that holds `src` (contiguous [C, H, W]) at
// (top, left) and zeros elsewhere, to float [C, out_h, out_w]. Never materialises the padding
// nor a float copy of the input, so huge photos cost only their own bytes.
template <class T>
torch::Tensor resize_virtual(const torch::Tensor& src, int64_t top, int64_t left, int64_t virt_h,
                             int64_t virt_w, int64_t out_h, int64_t out_w) {
  const int64_t c = src.size(0), in_h = src.size(1), in_w = src.size(2);
  auto out = torch::empty({c, out_h, out_w}, torch::kFloat32);
  const auto ty = taps(virt_h, out_h);
  const auto tx = taps(virt_w, out_w);
  const T* s = src.data_ptr<T>();
  float* d = out.data_ptr<float>();
  for (int64_t ch = 0; ch < c; ++ch) {
    const T* plane = s + ch * in_h * in_w;
    auto at = [&](int64_t y, int64_t x) -> double {
      y -= top;
      x -= left;
      return (y >= 0 && y < in_h && x >= 0 && x < in_w) ? static_cast<double>(plane[y * in_w + x])
                                                       : 0.0;
    };
    for (int64_t y = 0; y < out_h; ++y) {
      const Tap& v = ty[y];
      float* dst = d + (ch * out_h + y) * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        const Tap& t = tx[x];
        const double tl = at(v.i0, t.i0), tr = at(v.i0, t.i1);
        const double bl = at(v.i1, t.i0), br = at(v.i1, t.i1);
        const double topv = tl + (tr - tl) * t.f;
        const double bottom = bl + (br - bl) * t.f;
        dst[x] = static_cast<float>(topv + (bottom - topv) * v.f);
      }
    }
  }
  return out;
}

torch::Tensor resize_padded(const torch::Tensor& image, int64_t top, int64_t left, int64_t virt_h,
                            int64_t virt_w, int64_t out_h, int64_t out_w) {
  POSEFER_CHECK_SHAPE(image.dim() == 3 && image.size(1) > 0 && image.size(2) > 0,
                      "resize: image must be a non-empty [C, H, W], got ", image.sizes());
  POSEFER_CHECK_SHAPE(out_h > 0 && out_w > 0, "resize: output size must be positive, got ", out_h,
                      "x", out_w);
  if (image.scalar_type() == torch::kUInt8) {
    return resize_virtual<uint8_t>(image.contiguous(), top, left, virt_h, virt_w, out_h, out_w);
  }
  return resize_virtual<float>(image.to(torch::kFloat32).contiguous(), top, left, virt_h, virt_w,
                               out_h, out_w);
}

}  // namespace

torch::Tensor resize_bilinear_tf_legacy(const torch::Tensor& image, int64_t out_h, int64_t out_w) {
  POSEFER_CHECK_SHAPE(image.dim() == 3, "resize: image must be [C, H, W], got ", image.sizes());
  return resize_padded(image, 0, 0, image.size(1), image.size(2), out_h, out_w);
}

torch::Tensor faceapi_input(const torch::Tensor& image, int64_t side, bool centered,
                            const std::array<double, 3>& mean_rgb, double divisor) {
  POSEFER_CHECK_SHAPE(image.dim() == 3 && image.size(0) == 3, "face-api input must be [3, H, W], got ",
                      image.sizes());
  // pad_to_square + resize in one pass (the padding stays virtual).
  const int64_t h = image.size(1), w = image.size(2), m = std::max(h, w), d = m - std::min(h, w);
  const int64_t prepend = centered ? d - (d + 1) / 2 : 0;
  const int64_t top = h < w ? prepend : 0, left = w < h ? prepend : 0;
  torch::Tensor x;
  if (m != side) {
    x = resize_padded(image, top, left, m, m, side, side);
  } else {
    x = pad_to_square(image, centered).to(torch::kFloat32);
  }
  auto mean = torch::tensor({static_cast<float>(mean_rgb[0]), static_cast<float>(mean_rgb[1]),
                             static_cast<float>(mean_rgb[2])})
                  .view({3, 1, 1});
  return ((x - mean) / static_cast<float>(divisor)).unsqueeze(0).contiguous();
}

torch::Tensor faceapi_check_image(const torch::Tensor& image, const std::string& what) {
  POSEFER_CHECK_SHAPE(image.defined() && image.dim() == 3 && image.scalar_type() == torch::kUInt8 &&
                          (image.size(0) == 3 || image.size(0) == 1),
                      what, ": expected a uint8 [3, H, W] (or [1, H, W]) image, got ",
                      image.defined() ? image.sizes() : torch::IntArrayRef{});
  POSEFER_CHECK_SHAPE(image.size(1) > 0 && image.size(2) > 0, what, ": zero-size image");
  return image.size(0) == 1 ? image.expand({3, image.size(1), image.size(2)}) : image;
}

torch::Tensor tf_same_pad(const torch::Tensor& x, int64_t kernel, int64_t stride, double value) {
  auto pads = [&](int64_t n) {
    const int64_t out = (n + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - n, 0);
    return std::pair<int64_t, int64_t>{total / 2, total - total / 2};
  };
  const auto [top, bottom] = pads(x.size(2));
  const auto [left, right] = pads(x.size(3));
  if (top == 0 && bottom == 0 && left == 0 && right == 0) return x;
  return F::pad(x, F::PadFuncOptions({left, right, top, bottom}).value(value));
}

SeparableConvImpl::SeparableConvImpl(int64_t in, int64_t out) : in_channels(in), out_channels(out) {
  depthwise = register_module(
      "depthwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, in, 3).groups(in).bias(false)));
  pointwise = register_module("pointwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
}

torch::Tensor SeparableConvImpl::forward(const torch::Tensor& x, int64_t stride) {
  torch::Tensor y;
  if (stride == 1) {
    y = F::conv2d(x, depthwise->weight, F::Conv2dFuncOptions().padding(1).groups(in_channels));
  } else {
    y = F::conv2d(tf_same_pad(x, 3, stride), depthwise->weight,
                  F::Conv2dFuncOptions().stride(stride).groups(in_channels));
  }
  return pointwise->forward(y);
}

void SeparableConvImpl::load_weights(const FaceApiWeights& weights, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  depthwise->weight.copy_(
      tf_depthwise_filter_to_torch(weights.get(prefix + "/depthwise_filter", {3, 3, in_channels, 1})));
  pointwise->weight.copy_(tf_conv_filter_to_torch(
      weights.get(prefix + "/pointwise_filter", {1, 1, in_channels, out_channels})));
  pointwise->bias.copy_(weights.get(prefix + "/bias", {out_channels}));
}

void load_conv_weights(torch::nn::Conv2d& conv, const FaceApiWeights& weights,
                       const std::string& prefix) {
  torch::NoGradGuard no_grad;
  const auto& o = conv->options;
  const int64_t k = o.kernel_size()->at(0);
  conv->weight.copy_(tf_conv_filter_to_torch(
      weights.get(prefix + "/filters", {k, k, o.in_channels(), o.out_channels()})));
  conv->bias.copy_(weights.get(prefix + "/bias", {o.out_channels()}));
}

}  // namespace posefer
