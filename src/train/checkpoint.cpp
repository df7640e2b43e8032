#include "posefer/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"
#include "posefer/train/run_identity.h"

namespace posefer {

namespace fs = std::filesystem;
using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

namespace {
constexpr const char* kFormat = "posefer-checkpoint-1";

template <class T>
void write_sub(OutputArchive& root, const std::string& key, T& obj) {
  OutputArchive sub;
  obj.save(sub);
  root.write(key, sub);
}

template <class T>
void read_sub(InputArchive& root, const std::string& key, T& obj) {
  InputArchive sub;
  if (!root.try_read(key, sub)) throw InputError("missing entry '" + key + "'");
  obj.load(sub);
}

// Calls f(key, part) for every net and optimiser: the one list that save and load share.
template <class F>
void for_each_part(JointModel& m, F&& f) {
  f("gen", *m.gen);
  f("d_att", *m.d_att);
  f("d_i", *m.d_i);
  f("cls", *m.cls);
  f("opt_g", *m.opt_g);
  f("opt_d_att", *m.opt_d_att);
  f("opt_d_i", *m.opt_d_i);
  f("opt_cls", *m.opt_cls);
}

nlohmann::json state_meta(const TrainConfig& config, const TrainState& s) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["config"] = config;
  j["epoch"] = s.epoch;
  j["step_in_epoch"] = s.step_in_epoch;
  j["global_step"] = s.global_step;
  j["shuffle_rng"] = s.shuffle_rng;
  j["best_val"] = s.best_val;
  j["best_epoch"] = s.best_epoch;
  j["expression_names"] = s.expression_names;
  j["pose_names"] = s.pose_names;
  j["config_schema"] = kConfigSchema;
  if (!s.data_fingerprint.is_null()) j["data"] = s.data_fingerprint;
  return j;
}

nlohmann::json read_meta(InputArchive& root, const std::string& path) {
  c10::IValue v;
  if (!root.try_read("meta", v) || !v.isString()) {
    throw InputError(path + ": not a posefer checkpoint (no metadata)");
  }
  auto j = nlohmann::json::parse(v.toStringRef(), nullptr, /*allow_exceptions=*/false);
  // Checked by type first: json::value() on a non-object or a non-string "format" throws a bare
  // type_error that would not name the file.
  if (j.is_discarded() || !j.is_object() || !j.contains("format") || !j.at("format").is_string() ||
      j.at("format").get<std::string>() != kFormat || !j.contains("config") || !j.at("config").is_object()) {
    throw InputError(path + ": not a posefer checkpoint (unknown format)");
  }
  return j;
}

void open_archive(InputArchive& root, const std::string& path) {
  if (!fs::exists(path)) throw InputError(path + ": no such checkpoint file");
  try {
    root.load_from(path);
  } catch (const c10::Error& e) {
    throw InputError(path + ": cannot read checkpoint (truncated or corrupt file)");
  }
}

std::string describe_diff(const ModelConfig& want, const ModelConfig& got) {
  nlohmann::json a = want, b = got;
  std::string out;
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (!b.contains(it.key()) || b[it.key()] != it.value()) {
      if (!out.empty()) out += ", ";
      out += it.key() + " " + (b.contains(it.key()) ? b[it.key()].dump() : "?") + " (expected " +
             it.value().dump() + ")";
    }
  }
  return out;
}
}  // namespace

torch::Tensor get_torch_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_torch_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void save_checkpoint(const std::string& path, const TrainConfig& config, JointModel& model,
                     const TrainState& state) {
  with_context("saving checkpoint " + path, [&] {
    OutputArchive root;
    root.write("meta", c10::IValue(state_meta(config, state).dump()));
    for_each_part(model, [&](const char* key, auto& part) { write_sub(root, key, part); });
    if (state.permutation.defined()) root.write("permutation", state.permutation.cpu());
    if (state.torch_rng.defined()) root.write("torch_rng", state.torch_rng);
    if (state.step_rng.defined()) root.write("step_rng", state.step_rng);
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    // Serialised in memory first: LibTorch's file writer throws from a destructor when the disk
    // is full (std::terminate, exit 134). Our own durable write reports one line naming the file,
    // removes the temp and keeps the previous checkpoint.
    std::ostringstream bytes(std::ios::binary);
    root.save_to(bytes);
    write_file_atomic(path, bytes.str());
  });
}

TrainConfig read_checkpoint_config(const std::string& path, std::vector<std::string>* missing_fields) {
  InputArchive root;
  open_archive(root, path);
  auto meta = read_meta(root, path);
  const nlohmann::json& stored = meta.at("config");
  std::vector<std::string> missing = missing_config_fields(stored);
  if (missing_fields) {
    *missing_fields = missing;
  } else if (!missing.empty()) {
    spdlog::warn("{}: written by an older posefer (config schema {}); absent settings read as today's defaults: {}",
                 path, meta.contains("config_schema") && meta.at("config_schema").is_number_integer()
                           ? meta.at("config_schema").get<int>() : 1,
                 describe_defaults(missing));
  }
  return with_context(path + ": stored config", [&] { return stored.get<TrainConfig>(); });
}

int read_checkpoint_epochs_begun(const std::string& path) {
  InputArchive root;
  open_archive(root, path);
  const auto meta = read_meta(root, path);
  return with_context(path + ": stored progress", [&] {
    return meta.at("epoch").get<int>() + (meta.at("step_in_epoch").get<int64_t>() > 0 ? 1 : 0);
  });
}

void load_checkpoint(const std::string& path, JointModel& model, TrainState& state) {
  InputArchive root;
  open_archive(root, path);
  auto meta = read_meta(root, path);
  const auto config = with_context(path + ": stored config", [&] { return meta.at("config").get<TrainConfig>(); });
  if (config.model != model.config) {
    throw ConfigError("loading checkpoint " + path + ": model config differs: " +
                      describe_diff(model.config, config.model));
  }
  with_context("loading checkpoint " + path, [&] {
    for_each_part(model, [&](const char* key, auto& part) { read_sub(root, key, part); });
    state.epoch = meta.at("epoch");
    state.step_in_epoch = meta.at("step_in_epoch");
    state.global_step = meta.at("global_step");
    state.shuffle_rng = meta.at("shuffle_rng");
    state.best_val = meta.value("best_val", -1.0);
    state.best_epoch = meta.value("best_epoch", int64_t{0});
    state.expression_names = meta.at("expression_names").get<std::vector<std::string>>();
    state.pose_names = meta.at("pose_names").get<std::vector<std::string>>();
    state.data_fingerprint = meta.value("data", nlohmann::json());
    torch::Tensor t;
    state.permutation = root.try_read("permutation", t) ? t : torch::Tensor();
    torch::Tensor r;
    state.torch_rng = root.try_read("torch_rng", r) ? r : torch::Tensor();
    torch::Tensor sr;
    state.step_rng = root.try_read("step_rng", sr) ? sr : torch::Tensor();
  });
  // Optimiser state tensors come back on the CPU; modules were moved by load().
  for (torch::nn::Module* m : model.nets()) m->to(model.device);
}

}  // namespace posefer
