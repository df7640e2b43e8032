#include "posefer/data/image_augment.h"

#include <cmath>

#include "posefer/core/check.h"

namespace posefer {

namespace {

// Uniform [0, 1) from the engine's top 53 bits (the same numbers on every standard library).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

std::vector<AugmentDraw> draw_augment(int64_t count, const AugmentConfig& cfg, std::mt19937_64& rng) {
  std::vector<AugmentDraw> out(static_cast<size_t>(std::max<int64_t>(count, 0)));
  for (auto& d : out) {
    // Twelve numbers per image, always drawn.
    double u[12];
    for (double& v : u) v = uniform01(rng);
    d.flip = cfg.flip && u[0] < 0.5;
    d.tx = (2 * u[1] - 1) * cfg.shift;
    d.ty = (2 * u[2] - 1) * cfg.shift;
    d.zoom = 1 + (2 * u[3] - 1) * cfg.scale;
    d.angle = (2 * u[4] - 1) * cfg.rotate;
    d.brightness = (2 * u[5] - 1) * cfg.brightness;
    d.contrast = 1 + (2 * u[6] - 1) * cfg.contrast;
    d.erase = cfg.erase > 0 && u[7] < cfg.erase;
    if (d.erase) {
      // 2-20% of the area, aspect ratio in [1/2, 2].
      const double area = 0.02 + 0.18 * u[8];
      const double aspect = std::exp((2 * u[9] - 1) * std::log(2.0));
      d.ew = std::min(1.0, std::sqrt(area * aspect));
      d.eh = std::min(1.0, std::sqrt(area / aspect));
      d.ex = u[10] * (1 - d.ew);
      d.ey = u[11] * (1 - d.eh);
    }
  }
  return out;
}

std::pair<torch::Tensor, torch::Tensor> apply_augment(const torch::Tensor& images, const torch::Tensor& pose,
                                                      const std::vector<AugmentDraw>& draws,
                                                      const std::vector<int64_t>& pose_mirror) {
  POSEFER_CHECK_SHAPE(images.dim() == 4 && pose.dim() == 1 && images.size(0) == pose.size(0) &&
                          static_cast<int64_t>(draws.size()) == images.size(0),
                      "apply_augment: images ", images.sizes(), ", poses ", pose.sizes(), " and ",
                      draws.size(), " draws do not fit");
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3);
  bool geometric = false, photometric = false, erase = false;
  for (const auto& d : draws) {
    geometric |= d.flip || d.tx != 0 || d.ty != 0 || d.zoom != 1 || d.angle != 0;
    photometric |= d.brightness != 0 || d.contrast != 1;
    erase |= d.erase;
  }
  auto x = images;
  if (geometric) {
    // affine_grid maps output coordinates ([-1, 1]) to input ones: input = A * output + t with
    // A = R(angle) * diag(flip ? -1 : 1, 1) / zoom; t = 2 * shift (a shift of the face by +t
    // samples the input at -t).
    std::vector<float> theta;
    theta.reserve(static_cast<size_t>(b) * 6);
    for (const auto& d : draws) {
      const double a = d.angle * M_PI / 180.0;
      const double fx = d.flip ? -1.0 : 1.0;
      const double c = std::cos(a) / d.zoom, s = std::sin(a) / d.zoom;
      for (double v : {c * fx, -s, -2 * d.tx, s * fx, c, -2 * d.ty}) theta.push_back(static_cast<float>(v));
    }
    auto t = torch::tensor(theta).view({b, 2, 3}).to(images.device(), images.scalar_type());
    namespace F = torch::nn::functional;
    auto grid = F::affine_grid(t, {b, images.size(1), h, w}, /*align_corners=*/false);
    x = F::grid_sample(images, grid,
                       F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
  }
  if (photometric || erase) {
    x = x.clone();
    for (int64_t i = 0; i < b; ++i) {
      const auto& d = draws[static_cast<size_t>(i)];
      auto xi = x[i];
      if (d.brightness != 0 || d.contrast != 1) {
        const auto mean = xi.mean();
        xi.copy_(((xi - mean) * d.contrast + mean + d.brightness).clamp(-1, 1));
      }
      if (d.erase) {
        const auto y0 = static_cast<int64_t>(std::floor(d.ey * static_cast<double>(h)));
        const auto x0 = static_cast<int64_t>(std::floor(d.ex * static_cast<double>(w)));
        const auto eh = std::max<int64_t>(1, std::min(h - y0, static_cast<int64_t>(std::lround(d.eh * static_cast<double>(h)))));
        const auto ew = std::max<int64_t>(1, std::min(w - x0, static_cast<int64_t>(std::lround(d.ew * static_cast<double>(w)))));
        xi.narrow(1, y0, eh).narrow(2, x0, ew).zero_();  // mid grey
      }
    }
  }
  auto p = pose;
  if (!pose_mirror.empty()) {
    p = pose.to(torch::kInt64).clone();  // labels may come as any integer or float type
    auto acc = p.accessor<int64_t, 1>();
    for (int64_t i = 0; i < b; ++i) {
      if (!draws[static_cast<size_t>(i)].flip) continue;
      const int64_t v = acc[i];
      POSEFER_CHECK_SHAPE(v >= 0 && v < static_cast<int64_t>(pose_mirror.size()), "apply_augment: pose ", v,
                          " outside the mirror map of ", pose_mirror.size(), " poses");
      acc[i] = pose_mirror[static_cast<size_t>(v)];
    }
  }
  return {x, p};
}

}  // namespace posefer
