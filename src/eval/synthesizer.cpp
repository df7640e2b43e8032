#include "posefer/eval/synthesizer.h"

#include <algorithm>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"

namespace posefer {

namespace {
void check_face(const GeneratorImpl& gen, const torch::Tensor& face) {
  const auto& c = gen.encoder->config;
  POSEFER_CHECK_SHAPE(face.dim() == 3 && face.size(0) == c.channels && face.size(1) == c.image_size &&
                          face.size(2) == c.image_size,
                      "expected a face [", c.channels, ", ", c.image_size, ", ", c.image_size,
                      "], got ", face.sizes());
}
torch::Device device_of(GeneratorImpl& gen) { return gen.parameters().front().device(); }
}  // namespace

torch::Tensor synthesize_face(Generator& gen, const torch::Tensor& face, int64_t expression, int64_t pose) {
  check_face(*gen, face);
  const auto& c = gen->encoder->config;
  POSEFER_CHECK_CONFIG(expression >= 0 && expression < c.num_expressions && pose >= 0 && pose < c.num_poses,
                       "expression ", expression, " / pose ", pose, " out of range (", c.num_expressions,
                       " expressions, ", c.num_poses, " poses)");
  torch::NoGradGuard no_grad;
  const auto dev = device_of(*gen);
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  auto out = gen->forward(face.unsqueeze(0).to(dev), torch::full({1}, expression, opts),
                          torch::full({1}, pose, opts));
  return out.squeeze(0).cpu();
}

torch::Tensor synthesis_faces(Generator& gen, const torch::Tensor& face) {
  check_face(*gen, face);
  const auto& c = gen->encoder->config;
  const int64_t E = c.num_expressions, P = c.num_poses;
  torch::NoGradGuard no_grad;
  const auto dev = device_of(*gen);
  auto x = face.unsqueeze(0).to(dev).expand({E * P, -1, -1, -1}).contiguous();
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  auto e = torch::arange(E, opts).repeat({P});                      // e varies fastest
  auto p = torch::arange(P, opts).repeat_interleave(E);
  return gen->forward(x, e, p).cpu();
}

torch::Tensor synthesis_grid(Generator& gen, const torch::Tensor& face) {
  const auto& c = gen->encoder->config;
  const int64_t E = c.num_expressions, P = c.num_poses;
  auto generated = synthesis_faces(gen, face).view({P, E, c.channels, c.image_size, c.image_size});
  auto tiles = torch::ones({P, E + 1, c.channels, c.image_size, c.image_size});  // white blanks
  tiles.narrow(1, 1, E).copy_(generated);
  tiles[0][0].copy_(face.cpu());
  return tile_images(tiles.view({P * (E + 1), c.channels, c.image_size, c.image_size}),
                     static_cast<int>(P), static_cast<int>(E + 1));
}

torch::Tensor change_maps(const torch::Tensor& faces, int64_t expressions, int64_t reference, double gain) {
  POSEFER_CHECK_CONFIG(expressions > 0 && reference >= 0 && reference < expressions,
                       "change maps: reference expression ", reference, " outside [0, ", expressions, ")");
  POSEFER_CHECK_CONFIG(gain > 0, "change maps: gain must be positive, got ", gain);
  POSEFER_CHECK_SHAPE(faces.dim() == 4 && faces.size(0) > 0 && faces.size(0) % expressions == 0,
                      "change maps: expected faces [P * ", expressions, ", C, N, N], got ", faces.sizes());
  const int64_t P = faces.size(0) / expressions;
  auto grid = faces.to(torch::kFloat).view({P, expressions, faces.size(1), faces.size(2), faces.size(3)});
  auto ref = grid.select(1, reference).unsqueeze(1);
  auto change = ((grid - ref).abs() / 2).mean(2, /*keepdim=*/true) * gain;  // [P, E, 1, N, N]
  return (change.clamp_max(1.0) * 2 - 1).view({P * expressions, 1, faces.size(2), faces.size(3)});
}

int64_t reference_expression(const std::vector<std::string>& names) {
  const auto it = std::find(names.begin(), names.end(), "neutral");
  return it == names.end() ? 0 : static_cast<int64_t>(it - names.begin());
}

torch::Tensor zoom_images(const torch::Tensor& images, int64_t factor) {
  POSEFER_CHECK_CONFIG(factor >= 1 && factor <= 16, "zoom must be in [1, 16], got ", factor);
  POSEFER_CHECK_SHAPE(images.dim() == 4, "zoom: expected images [B, C, H, W], got ", images.sizes());
  if (factor == 1) return images;
  return images.repeat_interleave(factor, 2).repeat_interleave(factor, 3);
}

int64_t resolve_label(const std::string& value, const std::vector<std::string>& names,
                      const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == value) return static_cast<int64_t>(i);
  }
  try {
    size_t used = 0;
    const long long i = std::stoll(value, &used);
    if (used == value.size() && i >= 0 && i < static_cast<long long>(names.size())) return i;
  } catch (const std::exception&) {
  }
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw ConfigError("unknown " + what + " '" + value + "' (valid: " + valid + ", or 0.." +
                    std::to_string(names.size() - 1) + ")");
}

}  // namespace posefer
