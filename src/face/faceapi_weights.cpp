#include "posefer/face/faceapi_weights.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posefer/core/check.h"
#include "posefer/face/npm_dir.h"
#include "tfjs_weight_groups.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Reads a whole binary file; throws InputError naming it when it cannot be opened.
std::vector<char> read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open weight file");
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
  os << "]";
  return os.str();
}

// One tensor entry of a manifest group.
struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  int64_t count = 1;         // number of elements
  std::string kind;          // "uint8", "uint16" (scale/min quantised), "float16", "float32", "int32"
  double scale = 1.0, min = 0.0;
  int64_t bytes = 0;         // bytes in the shard stream
};

Entry parse_entry(const json& w, const std::string& manifest) {
  Entry e;
  POSEFER_CHECK_INPUT(w.is_object() && w.contains("name") && w.contains("shape"), manifest,
                      ": weight entry without name/shape");
  e.name = w.at("name").get<std::string>();
  e.shape = w.at("shape").get<std::vector<int64_t>>();
  for (int64_t d : e.shape) {
    POSEFER_CHECK_INPUT(d >= 0, manifest, ": tensor ", e.name, " has a negative dimension");
    e.count *= d;
  }
  const std::string dtype = w.value("dtype", std::string("float32"));
  if (w.contains("quantization") && !w.at("quantization").is_null()) {
    const json& q = w.at("quantization");
    e.kind = q.value("dtype", std::string());
    POSEFER_CHECK_INPUT(e.kind == "uint8" || e.kind == "uint16" || e.kind == "float16", manifest,
                        ": tensor ", e.name, ": unsupported quantization dtype '", e.kind, "'");
    if (e.kind == "float16") {  // IEEE half precision, no scale (TF.js converter --quantize_float16)
      e.bytes = e.count * 2;
      return e;
    }
    POSEFER_CHECK_INPUT(q.contains("scale") && q.contains("min"), manifest, ": tensor ", e.name,
                        ": quantization without scale/min");
    e.scale = q.at("scale").get<double>();
    e.min = q.at("min").get<double>();
    e.bytes = e.count * (e.kind == "uint8" ? 1 : 2);
  } else {
    e.kind = dtype;
    POSEFER_CHECK_INPUT(e.kind == "float32" || e.kind == "int32", manifest, ": tensor ", e.name,
                        ": unsupported dtype '", e.kind, "'");
    e.bytes = e.count * 4;
  }
  return e;
}

// IEEE 754 binary16 -> float (subnormals, infinities and NaN included).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Decodes `e` from `data` (little-endian) into a float32 tensor of its shape.
torch::Tensor decode(const Entry& e, const char* data) {
  auto out = torch::empty({e.count}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  const auto* u8 = reinterpret_cast<const unsigned char*>(data);
  for (int64_t i = 0; i < e.count; ++i) {
    if (e.kind == "uint8") {
      dst[i] = static_cast<float>(u8[i] * e.scale + e.min);
    } else if (e.kind == "uint16") {
      const uint32_t q = u8[2 * i] | (uint32_t(u8[2 * i + 1]) << 8);
      dst[i] = static_cast<float>(q * e.scale + e.min);
    } else if (e.kind == "float16") {
      dst[i] = half_to_float(static_cast<uint16_t>(u8[2 * i] | (u8[2 * i + 1] << 8)));
    } else {
      uint32_t bits = u8[4 * i] | (uint32_t(u8[4 * i + 1]) << 8) | (uint32_t(u8[4 * i + 2]) << 16) |
                      (uint32_t(u8[4 * i + 3]) << 24);
      if (e.kind == "float32") {
        std::memcpy(&dst[i], &bits, 4);
      } else {
        int32_t v;
        std::memcpy(&v, &bits, 4);
        dst[i] = static_cast<float>(v);
      }
    }
  }
  return out.reshape(e.shape);
}

}  // namespace

torch::Tensor FaceApiWeights::get(const std::string& name, const std::vector<int64_t>& shape) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw InputError(manifest + ": no tensor '" + name + "'");
  POSEFER_CHECK_INPUT(it->second.sizes().vec() == shape, manifest, ": tensor '", name,
                      "' has shape ", shape_str(it->second.sizes().vec()), ", expected ",
                      shape_str(shape));
  return it->second;
}

// Largest magnitude accepted in a weight tensor (batch-norm variances included).
constexpr double kMaxPlausibleWeight = 1e5;

void read_weight_groups(const nlohmann::json& groups, const std::string& manifest_path,
                        FaceApiWeights& out) {
  const fs::path dir = fs::path(manifest_path).parent_path();
  try {
    for (const json& group : groups) {
      POSEFER_CHECK_INPUT(group.is_object() && group.contains("paths") && group.contains("weights"),
                          manifest_path, ": group without paths/weights");
      // Concatenate the group's shards.
      std::vector<char> data;
      std::string files;
      for (const json& p : group.at("paths")) {
        const std::string shard = (dir / p.get<std::string>()).string();
        auto bytes = read_binary(shard);
        data.insert(data.end(), bytes.begin(), bytes.end());
        files += (files.empty() ? "" : " + ") + shard;
      }
      std::vector<Entry> entries;
      int64_t expected = 0;
      for (const json& w : group.at("weights")) {
        entries.push_back(parse_entry(w, manifest_path));
        expected += entries.back().bytes;
      }
      POSEFER_CHECK_INPUT(expected == static_cast<int64_t>(data.size()), files,
                          ": weight file is truncated or altered: manifest ", manifest_path,
                          " expects ", expected, " bytes, found ", data.size());
      int64_t offset = 0;
      for (const Entry& e : entries) {
        POSEFER_CHECK_INPUT(!out.tensors.count(e.name), manifest_path, ": tensor '", e.name,
                            "' listed twice");
        torch::Tensor t = decode(e, data.data() + offset);
        // A file of the right size but other content (a corrupt copy, random bytes) decodes
        // without complaint; trained weights are finite and far below this bound.
        if (t.is_floating_point() && t.numel() > 0) {
          const bool finite = torch::isfinite(t).all().item<bool>();
          const double peak = finite ? t.abs().max().item<double>() : 0.0;
          POSEFER_CHECK_INPUT(finite && peak <= kMaxPlausibleWeight, files, ": tensor '", e.name,
                              "' holds values no trained net has (", finite ? "|w| up to " + std::to_string(peak)
                                                                         : std::string("NaN or infinite values"),
                              "): the weight file is corrupt or belongs to another model");
        }
        out.tensors[e.name] = t;
        offset += e.bytes;
      }
    }
  } catch (const json::exception& e) {
    throw InputError(manifest_path + ": malformed weights manifest: " + e.what());
  }
}

FaceApiWeights load_faceapi_weights(const std::string& manifest_path) {
  FaceApiWeights out;
  out.manifest = manifest_path;
  std::ifstream in(manifest_path);
  if (!in) {
    throw InputError(manifest_path +
                     ": cannot open weights manifest (run scripts/setup.sh, or pass --models DIR "
                     "/ set POSEFER_MODELS)");
  }
  json manifest;
  try {
    in >> manifest;
  } catch (const json::exception& e) {
    throw InputError(manifest_path + ": malformed weights manifest: " + e.what());
  }
  POSEFER_CHECK_INPUT(manifest.is_array() && !manifest.empty(), manifest_path,
                      ": weights manifest must be a non-empty JSON array of groups");
  read_weight_groups(manifest, manifest_path, out);
  return out;
}

std::string faceapi_manifest_path(const std::string& model_dir, const std::string& name) {
  return (fs::path(model_dir) / (name + "-weights_manifest.json")).string();
}

std::string default_faceapi_model_dir() {
  if (const char* env = std::getenv("POSEFER_MODELS"); env && *env) return env;
  return (fs::path(npm_modules_dir()) / "@vladmandic" / "face-api" / "model").string();
}

torch::Tensor tf_conv_filter_to_torch(const torch::Tensor& hwio) {
  POSEFER_CHECK_SHAPE(hwio.dim() == 4, "conv filter must be [kh, kw, in, out], got ", hwio.sizes());
  return hwio.permute({3, 2, 0, 1}).contiguous();
}

torch::Tensor tf_depthwise_filter_to_torch(const torch::Tensor& hwcm) {
  POSEFER_CHECK_SHAPE(hwcm.dim() == 4, "depthwise filter must be [kh, kw, C, M], got ",
                      hwcm.sizes());
  const int64_t kh = hwcm.size(0), kw = hwcm.size(1), c = hwcm.size(2), m = hwcm.size(3);
  return hwcm.permute({2, 3, 0, 1}).reshape({c * m, 1, kh, kw}).contiguous();
}

torch::Tensor tf_dense_to_torch(const torch::Tensor& in_out) {
  POSEFER_CHECK_SHAPE(in_out.dim() == 2, "dense weights must be [in, out], got ", in_out.sizes());
  return in_out.t().contiguous();
}

}  // namespace posefer
