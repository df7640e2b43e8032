#include "posefer/labels.h"

#include <algorithm>
#include <map>

#include "posefer/check.h"

namespace posefer {

torch::Tensor signed_one_hot(const torch::Tensor& labels, int64_t n) {
  POSEFER_CHECK_SHAPE(labels.dim() == 1, "labels must be 1-D, got ", labels.dim(), "-D");
  POSEFER_CHECK_SHAPE(n >= 1, "code length must be >= 1, got ", n);
  if (labels.numel() > 0) {
    const auto lo = labels.min().item<int64_t>();
    const auto hi = labels.max().item<int64_t>();
    POSEFER_CHECK_SHAPE(lo >= 0 && hi < n, "labels must be in [0, ", n, "), got [", lo, ", ", hi, "]");
  }
  auto code = torch::full({labels.size(0), n}, -1.f, torch::TensorOptions().device(labels.device()));
  code.scatter_(1, labels.to(torch::kInt64).unsqueeze(1), 1.f);
  return code;
}

torch::Tensor tile_code(const torch::Tensor& code, int64_t times) {
  POSEFER_CHECK_SHAPE(code.dim() == 2, "code must be 2-D [B, n], got ", code.dim(), "-D");
  POSEFER_CHECK_SHAPE(times >= 1, "tile count must be >= 1, got ", times);
  return code.repeat({1, times});
}

torch::Tensor random_labels(int64_t count, int64_t n, const torch::Device& device) {
  return torch::randint(0, n, {count}, torch::TensorOptions().dtype(torch::kInt64).device(device));
}

std::string canonical_expression(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::map<std::string, std::string> kSynonyms = {
      {"happiness", "happy"}, {"smile", "happy"},        {"sadness", "sad"},
      {"anger", "angry"},     {"fearful", "fear"},        {"afraid", "fear"},
      {"disgusted", "disgust"}, {"surprised", "surprise"}, {"contemptuous", "contempt"}};
  const auto it = kSynonyms.find(n);
  return it == kSynonyms.end() ? n : it->second;
}

std::vector<int> map_expressions(const std::vector<std::string>& from, const std::vector<std::string>& to) {
  std::vector<int> out(from.size(), -1);
  for (size_t i = 0; i < from.size(); ++i) {
    const std::string c = canonical_expression(from[i]);
    for (size_t j = 0; j < to.size(); ++j) {
      if (canonical_expression(to[j]) == c) {
        out[i] = static_cast<int>(j);
        break;
      }
    }
  }
  return out;
}

}  // namespace posefer
