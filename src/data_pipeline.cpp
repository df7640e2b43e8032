#include "posefer/data_pipeline.h"

#include <spdlog/spdlog.h>

#include "posefer/check.h"

namespace posefer {

CropMode resolve_crop(const DataConfig& data, const std::string& kind) {
  if (data.crop == "center") return CropMode::kCenter;
  if (data.crop == "resize") return CropMode::kResize;
  // Until face alignment exists, GENKI's uncropped photos get a centre crop.
  return kind == "genki" ? CropMode::kCenter : CropMode::kResize;
}

PreparedData prepare_data(const DataConfig& data, const PrepareOptions& options) {
  data.validate();
  return with_context("data " + data.spec, [&] {
    PreparedData out;
    const DataSpec spec = parse_data_spec(data.spec);
    DatasetOptions dopt;
    dopt.yaw_bins = data.yaw_bins;
    dopt.cmu_scale = data.cmu_scale;
    out.dataset = load_dataset(spec, dopt);
    POSEFER_CHECK_INPUT(!out.dataset.samples.empty(), "no images found");
    for (const auto& s : out.dataset.skipped) spdlog::warn("skipped {}", s);
    out.split = make_split(out.dataset, data.fold, data.split_seed);
    out.split.train = subsample(out.split.train, data.max_train, data.split_seed + 11);
    out.split.val = subsample(out.split.val, data.max_test, data.split_seed + 12);
    out.split.test = subsample(out.split.test, data.max_test, data.split_seed + 13);
    spdlog::info("{}: {} images ({} skipped), {} expressions x {} poses; split {}: train {}, val {}, test {}",
                 out.dataset.name, out.dataset.samples.size(), out.dataset.skipped.size(),
                 out.dataset.expression_names.size(), out.dataset.pose_names.size(), data.fold,
                 out.split.train.size(), out.split.val.size(), out.split.test.size());
    ImageCacheOptions copt;
    copt.size = options.image_size;
    copt.channels = options.channels > 0 ? options.channels : out.dataset.native_channels;
    copt.crop = resolve_crop(data, spec.kind);
    copt.crop_fraction = data.crop_fraction;
    copt.progress = options.progress;
    copt.threads = options.threads;
    if (options.train && !out.split.train.empty()) {
      out.train = build_image_set(out.dataset, out.split.train, copt);
    }
    if (options.test) {
      if (!out.split.val.empty()) out.val = build_image_set(out.dataset, out.split.val, copt);
      if (!out.split.test.empty()) out.test = build_image_set(out.dataset, out.split.test, copt);
    }
    return out;
  });
}

}  // namespace posefer
