#include "posefer/train/run_identity.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"

namespace posefer {
namespace {

void collect_missing(const nlohmann::json& want, const nlohmann::json& got, const std::string& prefix,
                     std::vector<std::string>& out) {
  for (auto it = want.begin(); it != want.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (!got.is_object() || !got.contains(it.key())) {
      out.push_back(path);
    } else if (it.value().is_object()) {
      collect_missing(it.value(), got.at(it.key()), path, out);
    }
  }
}

// FNV-1a, 64 bit: a stable digest (std::hash is not stable across builds).
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;  // field separator
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

}  // namespace

std::vector<std::string> missing_config_fields(const nlohmann::json& stored) {
  std::vector<std::string> out;
  collect_missing(nlohmann::json(TrainConfig{}), stored, "", out);
  return out;
}

std::string describe_defaults(const std::vector<std::string>& fields) {
  const nlohmann::json defaults = TrainConfig{};
  std::string out;
  for (const auto& f : fields) {
    nlohmann::json::json_pointer ptr("/" + [&] {
      std::string p = f;
      for (auto& c : p) if (c == '.') c = '/';
      return p;
    }());
    if (!out.empty()) out += ", ";
    out += f + " = " + (defaults.contains(ptr) ? defaults.at(ptr).dump() : "?");
  }
  return out;
}

void check_config_migration(const std::string& checkpoint, const std::vector<std::string>& missing, bool migrate) {
  if (missing.empty()) return;
  // Never a silent new default: an absent field may change the objective (e.g. cross_l1).
  POSEFER_CHECK_CONFIG(migrate, checkpoint, ": written by an older posefer (config schema older than ", kConfigSchema,
                       "); these settings are absent and would take today's defaults: ", describe_defaults(missing),
                       ". Add --migrate to continue with these values, or start a new run");
  spdlog::warn("{}: migrating the stored config to schema {}: set {}", checkpoint, kConfigSchema,
               describe_defaults(missing));
}

nlohmann::json data_fingerprint(const DataConfig& data, const PreparedData& prepared) {
  const Dataset& ds = prepared.dataset;
  Fnv digest;
  auto add_part = [&](const char* part, const ImageSet& set) {
    digest.add(part);
    for (size_t i : set.sample_index) {
      const Sample& s = ds.samples[i];
      // The file name, not the full path: the same data read from another folder (or another
      // machine's aligned cache) is the same data.
      digest.add(s.subject);
      digest.add(ds.expression_names[s.expression]);
      digest.add(ds.pose_names[s.pose]);
      digest.add(std::filesystem::path(s.path).filename().string());
    }
  };
  add_part("train", prepared.train);
  add_part("val", prepared.val);
  nlohmann::json j;
  j["spec"] = data.spec;
  j["fold"] = data.fold;
  j["image_size"] = prepared.train.size() > 0 ? prepared.train.images.size(2) : 0;
  j["channels"] = prepared.train.size() > 0 ? prepared.train.images.size(1) : 0;
  j["train_images"] = prepared.train.size();
  j["val_images"] = prepared.val.size();
  j["expressions"] = ds.expression_names;
  j["poses"] = ds.pose_names;
  j["digest"] = digest.hex();
  return j;
}

std::string fingerprint_mismatch(const nlohmann::json& stored, const nlohmann::json& now) {
  static const std::vector<std::pair<const char*, const char*>> kFields = {
      {"spec", "data spec"},         {"fold", "split"},
      {"image_size", "image size"},  {"channels", "channels"},
      {"train_images", "training images"}, {"val_images", "validation images"},
      {"expressions", "expression labels"}, {"poses", "pose labels"},
      {"digest", "image list digest"}};
  std::string out;
  for (const auto& [key, name] : kFields) {
    if (!stored.contains(key) || !now.contains(key) || stored.at(key) == now.at(key)) continue;
    if (!out.empty()) out += "; ";
    out += std::string(name) + " " + stored.at(key).dump() + " -> " + now.at(key).dump();
  }
  return out;
}

}  // namespace posefer
