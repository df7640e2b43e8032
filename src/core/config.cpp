#include "posefer/core/config.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "posefer/core/check.h"

namespace posefer {

bool ModelConfig::operator==(const ModelConfig& o) const {
  return image_size == o.image_size && channels == o.channels &&
         num_expressions == o.num_expressions && num_poses == o.num_poses && id_dim == o.id_dim &&
         gen_width == o.gen_width && disc_width == o.disc_width && cls_width == o.cls_width &&
         pose_head == o.pose_head && cls_batch_norm == o.cls_batch_norm && init == o.init &&
         cls_arch == o.cls_arch && backbone_side == o.backbone_side && upsample == o.upsample &&
         g_codes == o.g_codes;
}

void ModelConfig::validate() const {
  POSEFER_CHECK_CONFIG(image_size >= 32 && image_size % 32 == 0 && image_size <= 512,
                       "image_size must be a multiple of 32 in [32, 512], got ", image_size);
  POSEFER_CHECK_CONFIG(channels == 1 || channels == 3, "channels must be 1 or 3, got ", channels);
  POSEFER_CHECK_CONFIG(num_expressions >= 2 && num_expressions <= 64,
                       "num_expressions must be in [2, 64], got ", num_expressions);
  POSEFER_CHECK_CONFIG(num_poses >= 1 && num_poses <= 64, "num_poses must be in [1, 64], got ",
                       num_poses);
  POSEFER_CHECK_CONFIG(id_dim >= 2 && id_dim <= 1024, "id_dim must be in [2, 1024], got ", id_dim);
  POSEFER_CHECK_CONFIG(gen_width > 0 && gen_width <= 4, "gen_width must be in (0, 4], got ", gen_width);
  POSEFER_CHECK_CONFIG(disc_width > 0 && disc_width <= 4, "disc_width must be in (0, 4], got ", disc_width);
  POSEFER_CHECK_CONFIG(cls_width > 0 && cls_width <= 4, "cls_width must be in (0, 4], got ", cls_width);
  POSEFER_CHECK_CONFIG(cls_dropout >= 0 && cls_dropout < 1, "cls_dropout must be in [0, 1), got ",
                       cls_dropout);
  POSEFER_CHECK_CONFIG(cls_arch == "vgg19" || cls_arch == "faceapi" || cls_arch == "faceres",
                       "cls_arch must be vgg19, faceapi or faceres, got '", cls_arch, "'");
  POSEFER_CHECK_CONFIG(backbone_side == 0 || (backbone_side >= 32 && backbone_side <= 512),
                       "backbone_side must be 0 (the backbone's default) or in [32, 512], got ", backbone_side);
  POSEFER_CHECK_CONFIG(upsample == "deconv" || upsample == "resize",
                       "upsample must be deconv or resize, got '", upsample, "'");
  POSEFER_CHECK_CONFIG(g_codes == "tiled" || g_codes == "onehot",
                       "g_codes must be tiled or onehot, got '", g_codes, "'");
  POSEFER_CHECK_CONFIG(init == "normal" || init == "he", "init must be 'normal' or 'he', got '",
                       init, "'");
}

void LossConfig::validate() const {
  for (const auto& [name, v] : {std::pair<const char*, double>{"alpha", alpha}, {"beta", beta},
                                {"adv_att", adv_att}, {"adv_id", adv_id},
                                {"cls_feedback", cls_feedback}, {"pose_cls", pose_cls},
                                {"cross_l1", cross_l1}, {"adv_cross", adv_cross},
                                {"id_cycle", id_cycle}}) {
    POSEFER_CHECK_CONFIG(v >= 0 && v < 1e6, "loss weight ", name, " must be in [0, 1e6), got ", v);
  }
  POSEFER_CHECK_CONFIG(cls_feedback_warmup >= 0, "cls_feedback_warmup must be >= 0, got ",
                       cls_feedback_warmup);
  POSEFER_CHECK_CONFIG(gen_share == "batch" || gen_share == "count", "gen_share must be batch or count, got '",
                       gen_share, "'");
  POSEFER_CHECK_CONFIG(cls_bn == "shared" || cls_bn == "real", "cls_bn must be shared or real, got '", cls_bn, "'");
  POSEFER_CHECK_CONFIG(label_smoothing >= 0 && label_smoothing < 1,
                       "label_smoothing must be in [0, 1), got ", label_smoothing);
  POSEFER_CHECK_CONFIG(cross_pairs == "any" || cross_pairs == "one-factor",
                       "cross_pairs must be any or one-factor, got '", cross_pairs, "'");
}

void OptimConfig::validate() const {
  POSEFER_CHECK_CONFIG(lr > 0 && lr < 1, "lr must be in (0, 1), got ", lr);
  POSEFER_CHECK_CONFIG(cls_lr > 0 && cls_lr < 1, "cls_lr must be in (0, 1), got ", cls_lr);
  POSEFER_CHECK_CONFIG(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got ", beta1);
  POSEFER_CHECK_CONFIG(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got ", beta2);
  POSEFER_CHECK_CONFIG(decay_every >= 0, "decay_every must be >= 0, got ", decay_every);
  POSEFER_CHECK_CONFIG(decay_factor > 0 && decay_factor <= 1,
                       "decay_factor must be in (0, 1], got ", decay_factor);
  POSEFER_CHECK_CONFIG(cls_schedule == "step" || cls_schedule == "cosine",
                       "cls_schedule must be step or cosine, got '", cls_schedule, "'");
  POSEFER_CHECK_CONFIG(cls_warmup >= 0 && cls_warmup <= 1000, "cls_warmup must be in [0, 1000], got ", cls_warmup);
  POSEFER_CHECK_CONFIG(cls_cycle >= 0 && cls_cycle <= 100000, "cls_cycle must be in [0, 100000], got ", cls_cycle);
  POSEFER_CHECK_CONFIG(cls_weight_decay >= 0 && cls_weight_decay < 1,
                       "cls_weight_decay must be in [0, 1), got ", cls_weight_decay);
  POSEFER_CHECK_CONFIG(cls_backbone_lr >= 0 && cls_backbone_lr <= 10,
                       "cls_backbone_lr must be in [0, 10], got ", cls_backbone_lr);
}

bool AugmentConfig::any() const {
  return flip || shift > 0 || scale > 0 || rotate > 0 || brightness > 0 || contrast > 0 || erase > 0;
}

void AugmentConfig::validate() const {
  POSEFER_CHECK_CONFIG(shift >= 0 && shift <= 0.5, "augment shift must be in [0, 0.5], got ", shift);
  POSEFER_CHECK_CONFIG(scale >= 0 && scale <= 0.5, "augment scale must be in [0, 0.5], got ", scale);
  POSEFER_CHECK_CONFIG(rotate >= 0 && rotate <= 90, "augment rotate must be in [0, 90] degrees, got ", rotate);
  POSEFER_CHECK_CONFIG(brightness >= 0 && brightness <= 1, "augment brightness must be in [0, 1], got ", brightness);
  POSEFER_CHECK_CONFIG(contrast >= 0 && contrast <= 1, "augment contrast must be in [0, 1], got ", contrast);
  POSEFER_CHECK_CONFIG(erase >= 0 && erase <= 1, "augment erase must be a probability in [0, 1], got ", erase);
}

void DataConfig::validate() const {
  POSEFER_CHECK_CONFIG(yaw_bins >= 1 && yaw_bins <= 9, "yaw_bins must be in [1, 9], got ", yaw_bins);
  POSEFER_CHECK_CONFIG(cmu_scale == 1 || cmu_scale == 2 || cmu_scale == 4,
                       "cmu_scale must be 1, 2 or 4, got ", cmu_scale);
  POSEFER_CHECK_CONFIG(cmu_eyes == "all" || cmu_eyes == "open" || cmu_eyes == "sunglasses",
                       "cmu_eyes must be all, open or sunglasses, got '", cmu_eyes, "'");
  POSEFER_CHECK_CONFIG(bu3dfe_intensity >= 0 && bu3dfe_intensity <= 4,
                       "bu3dfe_intensity must be in [0, 4] (0 = all), got ", bu3dfe_intensity);
  POSEFER_CHECK_CONFIG(render_size >= 32 && render_size <= 1024,
                       "render_size must be in [32, 1024], got ", render_size);
  POSEFER_CHECK_CONFIG(rafd_gaze == "all" || rafd_gaze == "frontal" || rafd_gaze == "left" ||
                           rafd_gaze == "right",
                       "rafd_gaze must be all, frontal, left or right, got '", rafd_gaze, "'");
  POSEFER_CHECK_CONFIG(crop == "auto" || crop == "resize" || crop == "center",
                       "crop must be auto, resize or center, got '", crop, "'");
  POSEFER_CHECK_CONFIG(crop_fraction > 0.1 && crop_fraction <= 1.0,
                       "crop_fraction must be in (0.1, 1], got ", crop_fraction);
  POSEFER_CHECK_CONFIG(max_train >= 0 && max_test >= 0, "max_train/max_test must be >= 0");
  // With --align auto, "center" is the crop of a photo in which no face is found (auto_align_job).
  POSEFER_CHECK_CONFIG(align.empty() || align == "auto" || crop != "center",
                       "crop 'center' does not apply to aligned faces (--align ", align,
                       "): they are square crops already (posefer align --center-fallback F keeps "
                       "the centre crop of photos without a face)");
  POSEFER_CHECK_CONFIG(pose_from_landmarks >= 0 && pose_from_landmarks <= 9,
                       "pose_from_landmarks must be in [0, 9], got ", pose_from_landmarks);
  POSEFER_CHECK_CONFIG(!align_padded || align == "auto",
                       "--align-padded applies to --align auto only (a `posefer align` folder has its own: "
                       "posefer align --padded-fallback), got --align '", align, "'");
  POSEFER_CHECK_CONFIG(pose_from_landmarks == 0 || !align.empty(),
                       "pose bins from landmarks (--pose-from-landmarks ", pose_from_landmarks,
                       ") need aligned faces and their landmarks: add --align DIR|auto");
  POSEFER_CHECK_CONFIG(pose_from_landmarks == 0 || !head_pose_model.empty(),
                       "pose bins from landmarks need a head pose model: add --head-pose-model "
                       "FILE (written by posefer headpose --out)");
  POSEFER_CHECK_CONFIG(val_fraction >= 0 && val_fraction < 1, "val_fraction must be in [0, 1), got ",
                       val_fraction);
  POSEFER_CHECK_CONFIG(val_fraction == 0 || fold != "official",
                       "--val-fraction carves validation subjects out of a k/K or subjects:F split; the "
                       "'official' split has its own validation part");
}

void TrainConfig::validate() const {
  data.validate();
  model.validate();
  loss.validate();
  optim.validate();
  augment.validate();
  POSEFER_CHECK_CONFIG(epochs >= 1 && epochs <= 100000, "epochs must be in [1, 100000], got ", epochs);
  POSEFER_CHECK_CONFIG(batch_size >= 2 && batch_size <= 4096,
                       "batch_size must be in [2, 4096] (batch norm needs 2), got ", batch_size);
  POSEFER_CHECK_CONFIG(gen_k >= 0 && gen_k <= 100, "gen_k must be in [0, 100], got ", gen_k);
  POSEFER_CHECK_CONFIG(gen_warmup >= 0, "gen_warmup must be >= 0, got ", gen_warmup);
  POSEFER_CHECK_CONFIG(extra_g_steps >= 0 && extra_g_steps <= 10,
                       "extra_g_steps must be in [0, 10], got ", extra_g_steps);
  POSEFER_CHECK_CONFIG(train_gan || gen_k == 0,
                       "generated faces (k = ", gen_k, ") need the GAN: drop --no-gan or use --k 0");
  POSEFER_CHECK_CONFIG(checkpoint_every >= 1, "checkpoint_every must be >= 1, got ", checkpoint_every);
  POSEFER_CHECK_CONFIG(checkpoint_minutes >= 0 && checkpoint_minutes <= 1e5,
                       "checkpoint_minutes must be in [0, 100000], got ", checkpoint_minutes);
  POSEFER_CHECK_CONFIG(precision == "fp32" || precision == "bf16", "precision must be fp32 or bf16, got '",
                       precision, "'");
  // The pose names are checked when training starts (pose_mirror); here only the form.
  POSEFER_CHECK_CONFIG(flip.empty() || flip == "auto" || flip.find(':') != std::string::npos,
                       "flip must be empty, auto or pose pairs a:b[,c:d...], got '", flip, "'");
  POSEFER_CHECK_CONFIG(threads >= 0 && threads <= 1024, "threads must be in [0, 1024], got ", threads);
  POSEFER_CHECK_CONFIG(tta_crop >= 0 && tta_crop <= 0.5, "tta_crop must be in [0, 0.5], got ", tta_crop);
  POSEFER_CHECK_CONFIG(pretrained.empty() || model.cls_arch != "vgg19" || pretrained == "none",
                       "pretrained weights (", pretrained, ") apply to a pretrained backbone (--cls-arch faceapi|faceres), "
                       "not to vgg19, which trains from scratch");
  POSEFER_CHECK_CONFIG(device == "cpu" || device == "cuda" || device == "auto",
                       "device must be cpu, cuda or auto, got '", device, "'");
}

namespace {
// One stored field into `out`. Numbers must fit the field's type: nlohmann's own conversion of
// 1e20 into an int is undefined behaviour (found by scripts/fuzz.sh on a config JSON).
template <class T>
void read_field(const nlohmann::json& v, const char* name, T& out) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (v.is_number()) {
      bool fits;
      if constexpr (std::is_integral_v<T>) {
        if (v.is_number_unsigned()) {
          fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
        } else if (v.is_number_integer()) {
          const int64_t i = v.get<int64_t>();
          fits = std::is_signed_v<T> ? (i >= static_cast<int64_t>(std::numeric_limits<T>::lowest()) &&
                                        static_cast<uint64_t>(std::max<int64_t>(i, 0)) <=
                                            static_cast<uint64_t>(std::numeric_limits<T>::max()))
                                     : i >= 0;
        } else {
          const double d = v.get<double>();
          fits = std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<T>::lowest()) &&
                 d <= static_cast<double>(std::numeric_limits<T>::max());
        }
      } else {
        const double d = v.get<double>();
        fits = std::isfinite(d) && std::fabs(d) <= static_cast<double>(std::numeric_limits<T>::max());
      }
      POSEFER_CHECK_CONFIG(fits, "config field '", name, "': ", v.dump(), " does not fit its type");
    }
  }
  v.get_to(out);
}
}  // namespace

// Field lists are written once per struct; from_json keeps defaults for absent fields so that
// older run directories stay readable.
#define POSEFER_JSON_FIELD_OUT(field) j[#field] = c.field;
#define POSEFER_JSON_FIELD_IN(field) \
  if (j.contains(#field)) read_field(j.at(#field), #field, c.field);

#define POSEFER_MODEL_FIELDS(X) X(image_size) X(channels) X(num_expressions) X(num_poses) \
  X(id_dim) X(gen_width) X(disc_width) X(cls_width) X(pose_head) X(cls_batch_norm) X(init) \
  X(fast_deconv) X(cls_dropout) X(cls_arch) X(backbone_side) X(upsample) X(g_codes)
#define POSEFER_LOSS_FIELDS(X) X(alpha) X(beta) X(adv_att) X(adv_id) X(cls_feedback) \
  X(cls_feedback_warmup) X(pose_cls) X(cross_l1) X(cross_pairs) X(adv_cross) X(id_cycle) X(label_smoothing) X(gen_share) X(cls_bn) X(feedback_pose)
#define POSEFER_OPTIM_FIELDS(X) X(lr) X(beta1) X(beta2) X(cls_lr) X(decay_every) X(decay_factor) \
  X(cls_schedule) X(cls_warmup) X(cls_cycle) X(cls_weight_decay) X(cls_backbone_lr)
#define POSEFER_DATA_FIELDS(X) X(spec) X(fold) X(split_seed) X(yaw_bins) X(cmu_scale) X(cmu_eyes) \
  X(multipie_cameras) X(multipie_illumination) X(bu3dfe_intensity) X(bu3dfe_neutral) \
  X(render_size) X(rafd_gaze) X(data_cache) X(crop) X(crop_fraction) X(max_train) X(max_test) \
  X(align) X(align_cache) X(align_padded) X(pose_from_landmarks) X(head_pose_model) X(extra_train) X(val_fraction)
#define POSEFER_TRAIN_FIELDS(X) X(data) X(model) X(loss) X(optim) X(epochs) X(batch_size) X(gen_k) \
  X(gen_warmup) X(extra_g_steps) X(select_on_val) X(augment) X(tta_flip) X(tta_crop) X(pretrained) X(train_gan) X(cls_train_poses) X(flip) X(sync_bn) X(skip_critic_grads) X(precision) X(checkpoint_every) X(checkpoint_minutes) X(seed) X(threads) X(device) X(progress)

void to_json(nlohmann::json& j, const ModelConfig& c) { POSEFER_MODEL_FIELDS(POSEFER_JSON_FIELD_OUT) }
void from_json(const nlohmann::json& j, ModelConfig& c) { POSEFER_MODEL_FIELDS(POSEFER_JSON_FIELD_IN) }
void to_json(nlohmann::json& j, const LossConfig& c) { POSEFER_LOSS_FIELDS(POSEFER_JSON_FIELD_OUT) }
void from_json(const nlohmann::json& j, LossConfig& c) { POSEFER_LOSS_FIELDS(POSEFER_JSON_FIELD_IN) }
void to_json(nlohmann::json& j, const OptimConfig& c) { POSEFER_OPTIM_FIELDS(POSEFER_JSON_FIELD_OUT) }
void from_json(const nlohmann::json& j, OptimConfig& c) { POSEFER_OPTIM_FIELDS(POSEFER_JSON_FIELD_IN) }
void to_json(nlohmann::json& j, const DataConfig& c) { POSEFER_DATA_FIELDS(POSEFER_JSON_FIELD_OUT) }
void from_json(const nlohmann::json& j, DataConfig& c) { POSEFER_DATA_FIELDS(POSEFER_JSON_FIELD_IN) }
#define POSEFER_AUGMENT_FIELDS(X) X(flip) X(shift) X(scale) X(rotate) X(brightness) X(contrast) X(erase)
void to_json(nlohmann::json& j, const AugmentConfig& c) { POSEFER_AUGMENT_FIELDS(POSEFER_JSON_FIELD_OUT) }
void from_json(const nlohmann::json& j, AugmentConfig& c) { POSEFER_AUGMENT_FIELDS(POSEFER_JSON_FIELD_IN) }
void to_json(nlohmann::json& j, const TrainConfig& c) { POSEFER_TRAIN_FIELDS(POSEFER_JSON_FIELD_OUT) }
void from_json(const nlohmann::json& j, TrainConfig& c) { POSEFER_TRAIN_FIELDS(POSEFER_JSON_FIELD_IN) }

}  // namespace posefer
