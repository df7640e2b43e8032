#include "posefer/synthesizer.h"

#include "posefer/check.h"
#include "posefer/image_io.h"

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
