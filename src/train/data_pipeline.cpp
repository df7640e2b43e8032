#include "posefer/train/data_pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <system_error>

#include "posefer/core/check.h"
#include "posefer/core/labels.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/image_io.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCompleteMarker = "complete.json";

// Everything that changes what the job writes, as one readable line.
std::string auto_align_key(const DataConfig& data, const DatasetAlignJob& job) {
  const DataSpec spec = parse_data_spec(data.spec);
  std::ostringstream os;
  os << "posefer-align v1|" << spec.kind << ":" << data_util::canonical_path(spec.path) << "|size=" << job.align.size
     << "|channels=" << job.align.channels << "|margin=" << job.align.margin
     << "|input=" << job.detector.detector.input_size
     << "|score=" << job.detector.detector.score_threshold
     << "|iou=" << job.detector.detector.iou_threshold
     << "|multi=" << static_cast<int>(job.multi) << "|haar=" << job.haar_fallback
     << "|whole=" << job.whole_image << "|whole_fallback=" << job.whole_image_fallback
     << "|cmu_scale=" << job.dataset.cmu_scale << "|yaw_bins=" << job.dataset.yaw_bins;
  if (job.center_fallback > 0) os << "|center=" << job.center_fallback;  // only when set: older keys stay
  if (job.padded_fallback) os << "|padded=1";
  // Reader options of the later kinds (older kinds keep their keys, so their caches stay valid).
  const DatasetOptions& o = job.dataset;
  if (spec.kind == "multipie" || spec.kind == "multipie-list") {
    os << "|cameras=" << o.multipie_cameras << "|illumination=" << o.multipie_illumination;
  } else if (spec.kind == "bu3dfe") {
    os << "|intensity=" << o.bu3dfe_intensity << "|neutral=" << o.bu3dfe_neutral
       << "|render_size=" << o.render_size;
  } else if (spec.kind == "rafd") {
    os << "|gaze=" << o.rafd_gaze;
  } else if (spec.kind == "cmu" && o.cmu_eyes != "all") {
    os << "|eyes=" << o.cmu_eyes;  // only when set, so existing CMU caches keep their keys
  }
  return os.str();
}

// Keeps the samples with keep[i], renumbering `split` (indices of dropped samples vanish).
void keep_samples(Dataset& dataset, Split& split, const std::vector<bool>& keep) {
  std::vector<size_t> new_index(dataset.samples.size(), SIZE_MAX);
  std::vector<Sample> kept;
  for (size_t i = 0; i < dataset.samples.size(); ++i) {
    if (!keep[i]) continue;
    new_index[i] = kept.size();
    kept.push_back(std::move(dataset.samples[i]));
  }
  dataset.samples = std::move(kept);
  for (auto* part : {&split.train, &split.val, &split.test}) {
    std::vector<size_t> out;
    for (size_t i : *part) {
      if (new_index[i] != SIZE_MAX) out.push_back(new_index[i]);
    }
    *part = std::move(out);
  }
}

}  // namespace

DatasetOptions dataset_options(const DataConfig& data, int threads, bool progress) {
  DatasetOptions o;
  o.cmu_scale = data.cmu_scale;
  o.cmu_eyes = data.cmu_eyes;
  o.yaw_bins = data.yaw_bins;
  o.multipie_cameras = data.multipie_cameras;
  o.multipie_illumination = data.multipie_illumination;
  o.bu3dfe_intensity = data.bu3dfe_intensity;
  o.bu3dfe_neutral = data.bu3dfe_neutral;
  o.render_size = data.render_size;
  o.rafd_gaze = data.rafd_gaze;
  o.cache_dir = data.data_cache;
  o.threads = threads;
  o.progress = progress;
  return o;
}

CropMode resolve_crop(const DataConfig& data, const std::string& kind) {
  // Aligned faces are square crops already (validate() refuses "center" with them).
  if (!data.align.empty() || data.crop == "resize") return CropMode::kResize;
  if (data.crop == "center") return CropMode::kCenter;
  // GENKI's raw photos get a centre crop.
  return kind == "genki" ? CropMode::kCenter : CropMode::kResize;
}

DatasetAlignJob auto_align_job(const DataConfig& data, int image_size, const std::string& out_dir) {
  const DataSpec spec = parse_data_spec(data.spec);
  DatasetAlignJob job;
  job.data = data.spec;
  job.out_dir = out_dir;
  job.dataset = dataset_options(data);
  job.align.size = std::max(128, image_size);
  const bool fer = spec.kind == "fer2013" || spec.kind == "fer2013csv";
  job.align.channels = spec.kind == "cmu" || fer ? 1 : 3;
  job.multi = MultiFacePolicy::kLargest;
  job.whole_image = fer;  // 48 x 48 face crops: the whole image is the face
  job.haar_fallback = !job.whole_image;
  job.padded_fallback = data.align_padded && !job.whole_image;
  // Where unaligned photos are cropped at the centre (GENKI, or crop "center"), a photo with no
  // face found keeps that crop instead of being left out, so every photo is trained on and scored.
  if (data.crop == "center" || (spec.kind == "genki" && data.crop == "auto")) {
    job.center_fallback = data.crop_fraction;
  }
  return job;
}

std::string auto_align_dir(const DataConfig& data, int image_size) {
  POSEFER_CHECK_CONFIG(!data.align_cache.empty(),
                       "--align auto needs a cache folder (align_cache, --align-cache DIR)");
  const DatasetAlignJob job = auto_align_job(data, image_size, "");
  return data_util::keyed_cache_dir(data.align_cache, parse_data_spec(data.spec).kind,
                                    auto_align_key(data, job));
}

std::string ensure_auto_aligned(const DataConfig& data, int image_size, bool progress) {
  const std::string dir = auto_align_dir(data, image_size);
  DatasetAlignJob job = auto_align_job(data, image_size, dir);
  job.progress = progress;
  const std::string key = auto_align_key(data, job);
  const fs::path marker = fs::path(dir) / kCompleteMarker;
  if (data_util::marker_has_key(marker.string(), key)) {
    spdlog::info("aligned faces: reusing {}", dir);
    return dir;
  }
  spdlog::info("aligned faces: aligning {} once into {}", data.spec, dir);
  const DatasetAlignResult r = run_dataset_align_job(job);
  spdlog::info("aligned faces: {} of {} images aligned ({} on the padded photo, {} via Haar, {} via the whole image), "
               "{} without a face, {} failed",
               r.total.aligned + r.total.several, r.total.images, r.total.via_padded, r.total.via_haar,
               r.total.via_whole, r.total.no_face, r.total.failed);
  nlohmann::ordered_json done{{"key", key}, {"total", r.total.to_json()}};
  // Written last, atomically: a crash before this line leaves no marker and aligns again.
  write_file_atomic(marker.string(), done.dump(2) + "\n");
  return dir;
}

AlignedUse use_aligned_faces(Dataset& dataset, Split& split, const DataSpec& spec,
                             const std::string& dir, int pose_bins, const HeadPoseModel* pose_model) {
  std::error_code ec;
  POSEFER_CHECK_INPUT(fs::is_directory(dir, ec), "aligned faces folder ", dir,
                      ": no such directory (write it with posefer align --data ", spec.kind, ":",
                      spec.path, " --out ", dir, ", or use --align auto)");
  POSEFER_CHECK_CONFIG(pose_bins == 0 || pose_model != nullptr,
                       "pose bins from landmarks need a head pose model");
  std::map<std::string, Landmarks68> landmarks;
  if (pose_bins > 0) {
    landmarks = read_align_landmarks((fs::path(dir) / "landmarks.csv").string(), AlignCsvKey::kOutput);
    dataset.pose_names = yaw_bin_names(pose_bins);
  }
  AlignedUse use;
  std::vector<bool> keep(dataset.samples.size(), false);
  for (size_t i = 0; i < dataset.samples.size(); ++i) {
    Sample& s = dataset.samples[i];
    const std::string name = aligned_output_name(s.path, spec);
    const fs::path png = fs::path(dir) / name;
    if (!fs::is_regular_file(png, ec)) {
      dataset.skipped.push_back(s.path + ": no aligned face in " + dir);
      continue;
    }
    if (pose_bins > 0) {
      const auto it = landmarks.find(name);
      if (it == landmarks.end()) {
        dataset.skipped.push_back(s.path + ": no landmarks for " + name + " in " + dir +
                                  "/landmarks.csv");
        continue;
      }
      const auto [yaw, pitch] = pose_model->predict(it->second);
      s.yaw_deg = static_cast<float>(yaw);
      s.pitch_deg = static_cast<float>(pitch);
      s.pose = yaw_bin_of(yaw, pose_bins);
    }
    s.path = png.string();
    keep[i] = true;
  }
  for (bool k : keep) ++(k ? use.used : use.missing);
  POSEFER_CHECK_INPUT(use.used > 0, "aligned faces folder ", dir, ": none of the ",
                      dataset.samples.size(), " images of ", spec.kind, ":", spec.path,
                      " has an aligned face there (is it posefer align's output for this data set?)");
  keep_samples(dataset, split, keep);
  return use;
}

namespace {
std::string names_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}
}  // namespace

size_t add_extra_training(Dataset& dataset, Split& split, const std::string& spec_text) {
  return with_context("extra training images " + spec_text, [&] {
    const DataSpec spec = parse_data_spec(spec_text);
    POSEFER_CHECK_INPUT(spec.kind == "manifest", "must be a manifest:<csv> spec, got kind '", spec.kind, "'");
    const Dataset extra = load_dataset(spec);
    const std::vector<int> expr = map_expressions(extra.expression_names, dataset.expression_names);
    std::vector<int> pose(extra.pose_names.size(), -1);
    for (size_t i = 0; i < extra.pose_names.size(); ++i) {
      const auto it = std::find(dataset.pose_names.begin(), dataset.pose_names.end(), extra.pose_names[i]);
      if (it != dataset.pose_names.end()) pose[i] = static_cast<int>(it - dataset.pose_names.begin());
    }
    for (const Sample& s : extra.samples) {
      POSEFER_CHECK_INPUT(expr[static_cast<size_t>(s.expression)] >= 0, s.path, ": expression '",
                          extra.expression_names[static_cast<size_t>(s.expression)],
                          "' is not a class of the data set (", names_list(dataset.expression_names), ")");
      POSEFER_CHECK_INPUT(pose[static_cast<size_t>(s.pose)] >= 0, s.path, ": pose '",
                          extra.pose_names[static_cast<size_t>(s.pose)], "' is not a pose of the data set (",
                          names_list(dataset.pose_names), ")");
      Sample copy = s;
      copy.expression = expr[static_cast<size_t>(s.expression)];
      copy.pose = pose[static_cast<size_t>(s.pose)];
      // Own subject namespace: an extra image never joins a real person's cross-reconstruction pairs.
      copy.subject = "extra:" + s.subject;
      split.train.push_back(dataset.samples.size());
      dataset.samples.push_back(std::move(copy));
    }
    return extra.samples.size();
  });
}

PreparedData prepare_data(const DataConfig& data, const PrepareOptions& options) {
  data.validate();
  return with_context("data " + data.spec, [&] {
    PreparedData out;
    const DataSpec spec = parse_data_spec(data.spec);
    out.dataset = load_dataset(spec, dataset_options(data, options.threads, options.progress));
    POSEFER_CHECK_INPUT(!out.dataset.samples.empty(), "no images found");
    for (const auto& s : out.dataset.skipped) spdlog::warn("skipped {}", s);
    for (const auto& [reason, count] : out.dataset.filtered) {
      spdlog::info("left out by the reader's options: {} file(s), {}", count, reason);
    }
    // The split comes first, so aligned runs test on the same images (less those left out).
    out.split = make_split(out.dataset, data.fold, data.split_seed);
    if (data.val_fraction > 0) {
      // Validation subjects from the training part only: the test subjects stay unseen by every choice.
      carve_validation(out.split, out.dataset, data.val_fraction, data.split_seed + 101);
    }
    if (!data.align.empty()) {
      out.aligned_dir = data.align == "auto"
                            ? ensure_auto_aligned(data, options.image_size, options.progress)
                            : data.align;
      HeadPoseModel pose_model;
      if (data.pose_from_landmarks > 0) {
        pose_model = with_context("head pose model " + data.head_pose_model, [&] {
          return HeadPoseModel::from_json(nlohmann::json::parse(read_text_file(data.head_pose_model)));
        });
      }
      const size_t before = out.dataset.skipped.size();
      const AlignedUse use = use_aligned_faces(out.dataset, out.split, spec, out.aligned_dir,
                                               data.pose_from_landmarks, &pose_model);
      spdlog::info("aligned faces from {}: {} images used, {} left out without an aligned face{}",
                   out.aligned_dir, use.used, use.missing,
                   use.missing > 0 ? " (listed in the data set's skipped files; first: " +
                                         out.dataset.skipped[before] + ")"
                                   : std::string());
      if (data.pose_from_landmarks > 0) {
        std::vector<int64_t> counts(out.dataset.pose_names.size(), 0);
        for (const auto& s : out.dataset.samples) ++counts[s.pose];
        std::string text;
        for (size_t p = 0; p < counts.size(); ++p) {
          text += (p ? ", " : "") + out.dataset.pose_names[p] + " " + std::to_string(counts[p]);
        }
        spdlog::info("pose bins from landmark yaw: {}", text);
      }
    }
    out.split.train = subsample(out.split.train, data.max_train, data.split_seed + 11);
    out.split.val = subsample(out.split.val, data.max_test, data.split_seed + 12);
    out.split.test = subsample(out.split.test, data.max_test, data.split_seed + 13);
    if (!data.extra_train.empty()) {
      const size_t added = add_extra_training(out.dataset, out.split, data.extra_train);
      spdlog::info("extra training images from {}: {}", data.extra_train, added);
    }
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
