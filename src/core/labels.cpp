#include "posefer/core/labels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "posefer/core/check.h"

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

torch::Tensor unsigned_one_hot(const torch::Tensor& labels, int64_t n) {
  return (signed_one_hot(labels, n) + 1.f) * 0.5f;
}

torch::Tensor tile_code(const torch::Tensor& code, int64_t times) {
  POSEFER_CHECK_SHAPE(code.dim() == 2, "code must be 2-D [B, n], got ", code.dim(), "-D");
  POSEFER_CHECK_SHAPE(times >= 1, "tile count must be >= 1, got ", times);
  return code.repeat({1, times});
}

torch::Tensor random_labels(int64_t count, int64_t n, const torch::Device& device) {
  return torch::randint(0, n, {count}, torch::TensorOptions().dtype(torch::kInt64).device(device));
}

namespace {
// "left" <-> "right" wherever they occur.
std::string swap_left_right(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 4, "left") == 0) {
      out += "right";
      i += 4;
    } else if (s.compare(i, 5, "right") == 0) {
      out += "left";
      i += 5;
    } else {
      out += s[i++];
    }
  }
  return out;
}
}  // namespace

namespace {

// The mirror map of pose names that are all yaw bins "yaw[lo,hi)" / "yaw[lo,hi]" whose edges are
// symmetric about 0 (bin i's edges are bin P-1-i's negated); empty otherwise.
std::vector<int64_t> symmetric_yaw_bins(const std::vector<std::string>& names) {
  std::vector<std::pair<double, double>> edges;
  for (const auto& n : names) {
    if (n.rfind("yaw[", 0) != 0 || n.size() < 7) return {};
    const auto comma = n.find(',');
    if (comma == std::string::npos) return {};
    char* end = nullptr;
    const double lo = std::strtod(n.c_str() + 4, &end);
    if (end != n.c_str() + comma) return {};
    const double hi = std::strtod(n.c_str() + comma + 1, &end);
    if (end != n.c_str() + n.size() - 1 || (n.back() != ')' && n.back() != ']')) return {};
    edges.emplace_back(lo, hi);
  }
  const size_t p = edges.size();
  std::vector<int64_t> mirror(p);
  for (size_t i = 0; i < p; ++i) {
    const auto& a = edges[i];
    const auto& b = edges[p - 1 - i];
    if (std::abs(a.first + b.second) > 1e-6 || std::abs(a.second + b.first) > 1e-6) return {};
    mirror[i] = static_cast<int64_t>(p - 1 - i);
  }
  return mirror;
}

}  // namespace

std::vector<int64_t> pose_mirror(const std::string& spec, const std::vector<std::string>& names) {
  std::vector<int64_t> mirror(names.size());
  for (size_t i = 0; i < names.size(); ++i) mirror[i] = static_cast<int64_t>(i);
  auto index = [&](const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string valid;
      for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
      throw ConfigError("flip: unknown pose '" + name + "' (poses: " + valid + ")");
    }
    return static_cast<int64_t>(it - names.begin());
  };
  if (spec == "auto") {
    // Yaw bins symmetric about 0 (GENKI's "yaw[-45,-15)", "yaw[-15,15)", "yaw[15,45]"): a
    // mirrored photo's yaw changes sign, so bin i shows as bin P-1-i.
    if (const auto yaw = symmetric_yaw_bins(names); !yaw.empty()) return yaw;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string other = swap_left_right(names[i]);
      const auto it = std::find(names.begin(), names.end(), other);
      if (other != names[i] && it != names.end()) mirror[i] = static_cast<int64_t>(it - names.begin());
    }
    return mirror;
  }
  // Pose names may hold ':' or ',' themselves (GENKI's "yaw[-45,-15)"): read the longest
  // pose name at each position rather than splitting the text.
  const std::string malformed = "flip: expected auto or pose pairs a:b[,c:d...], got '" + spec + "'";
  auto take = [&](size_t& i) {
    int64_t best = -1;
    for (size_t k = 0; k < names.size(); ++k) {
      if (spec.compare(i, names[k].size(), names[k]) == 0 &&
          (best < 0 || names[k].size() > names[static_cast<size_t>(best)].size()))
        best = static_cast<int64_t>(k);
    }
    if (best < 0) {
      POSEFER_CHECK_CONFIG(i < spec.size(), malformed);
      index(spec.substr(i, spec.find_first_of(":,", i) - i));  // throws: unknown pose
      throw ConfigError(malformed);
    }
    i += names[static_cast<size_t>(best)].size();
    return best;
  };
  std::vector<bool> paired(names.size(), false);
  size_t i = 0;
  while (true) {
    const int64_t a = take(i);
    POSEFER_CHECK_CONFIG(i < spec.size() && spec[i] == ':', malformed);
    ++i;
    const int64_t b = take(i);
    POSEFER_CHECK_CONFIG(a != b && !paired[a] && !paired[b], "flip: pose '", names[paired[a] || a == b ? a : b],
                         "' is in more than one pair in '", spec, "'");
    paired[a] = paired[b] = true;
    mirror[a] = b;
    mirror[b] = a;
    if (i == spec.size()) break;
    POSEFER_CHECK_CONFIG(spec[i] == ',', malformed);
    ++i;
  }
  return mirror;
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
