#include "posefer/core/config.h"

#include <gtest/gtest.h>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

TEST(Config, JsonRoundTripKeepsEveryField) {
  TrainConfig c;
  c.data.spec = "cmu:/x";
  c.data.fold = "2/5";
  c.data.max_train = 123;
  c.model.image_size = 96;
  c.model.channels = 1;
  c.model.gen_width = 0.25;
  c.model.init = "normal";
  c.model.cls_batch_norm = false;
  c.loss.cls_feedback = 0.3;
  c.optim.decay_every = 7;
  c.epochs = 11;
  c.gen_k = 5;
  c.train_gan = false;
  c.gen_k = 0;
  c.seed = 99;
  c.data.align = "auto";
  c.data.align_cache = "/cache/aligned";
  c.data.pose_from_landmarks = 5;
  c.data.head_pose_model = "pose.json";
  c.loss.adv_cross = 0.02;
  c.sync_bn = false;
  c.skip_critic_grads = false;
  c.loss.cross_pairs = "one-factor";
  c.data.cmu_eyes = "open";
  c.flip = "left:right";
  c.model.cls_arch = "faceapi";
  c.loss.label_smoothing = 0.15;
  c.optim.cls_schedule = "cosine";
  c.optim.cls_warmup = 1.5;
  c.optim.cls_weight_decay = 1e-4;
  c.optim.cls_backbone_lr = 0.05;
  c.data.val_fraction = 0.2;
  c.data.align_padded = true;
  c.augment.flip = true;
  c.augment.rotate = 12;
  c.augment.erase = 0.3;
  c.tta_flip = true;
  c.tta_crop = 0.125;
  c.optim.cls_cycle = 7;
  c.precision = "bf16";
  c.pretrained = "/models";
  c.model.upsample = "resize";
  c.model.g_codes = "onehot";
  nlohmann::json j = c;
  const auto back = j.get<TrainConfig>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.model, c.model);
  EXPECT_EQ(back.data.fold, "2/5");
  EXPECT_EQ(back.data.max_train, 123);
  EXPECT_FALSE(back.train_gan);
  EXPECT_EQ(back.seed, 99u);
  EXPECT_DOUBLE_EQ(back.loss.cls_feedback, 0.3);
  EXPECT_EQ(back.data.align, "auto");
  EXPECT_EQ(back.data.align_cache, "/cache/aligned");
  EXPECT_EQ(back.data.pose_from_landmarks, 5);
  EXPECT_EQ(back.data.head_pose_model, "pose.json");
  EXPECT_EQ(j["data"]["pose_from_landmarks"], 5);
  EXPECT_DOUBLE_EQ(back.loss.adv_cross, 0.02);
  EXPECT_FALSE(back.sync_bn);
  EXPECT_FALSE(back.skip_critic_grads);
  EXPECT_EQ(back.loss.cross_pairs, "one-factor");
  EXPECT_EQ(back.data.cmu_eyes, "open");
  EXPECT_EQ(back.flip, "left:right");
  EXPECT_EQ(back.model.cls_arch, "faceapi");
  EXPECT_DOUBLE_EQ(back.loss.label_smoothing, 0.15);
  EXPECT_EQ(back.optim.cls_schedule, "cosine");
  EXPECT_DOUBLE_EQ(back.optim.cls_warmup, 1.5);
  EXPECT_DOUBLE_EQ(back.optim.cls_weight_decay, 1e-4);
  EXPECT_DOUBLE_EQ(back.optim.cls_backbone_lr, 0.05);
  EXPECT_DOUBLE_EQ(back.data.val_fraction, 0.2);
  EXPECT_TRUE(back.data.align_padded);
  EXPECT_TRUE(back.augment.flip);
  EXPECT_DOUBLE_EQ(back.augment.rotate, 12);
  EXPECT_DOUBLE_EQ(back.augment.erase, 0.3);
  EXPECT_TRUE(back.tta_flip);
  EXPECT_DOUBLE_EQ(back.tta_crop, 0.125);
  EXPECT_EQ(back.optim.cls_cycle, 7);
  EXPECT_EQ(back.precision, "bf16");
  EXPECT_EQ(back.pretrained, "/models");
  EXPECT_EQ(back.model.upsample, "resize");
  EXPECT_EQ(j["model"]["upsample"], "resize");
  EXPECT_EQ(back.model.g_codes, "onehot");
  EXPECT_EQ(j["augment"]["rotate"], 12);
}

TEST(Config, NewClassifierSettingsAreRangeChecked) {
  TrainConfig c;
  c.data.val_fraction = 0.3;
  c.data.fold = "official";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "'official' split has its own validation part");
  c = TrainConfig();
  c.model.cls_arch = "resnet";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "cls_arch must be vgg19, faceapi or faceres, got 'resnet'");
  c = TrainConfig();
  c.pretrained = "/models";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "not to vgg19");
  c = TrainConfig();
  c.optim.cls_schedule = "linear";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "cls_schedule must be step or cosine");
  c = TrainConfig();
  c.optim.cls_cycle = -1;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "cls_cycle must be in [0, 100000], got -1");
  c = TrainConfig();
  c.tta_crop = 0.75;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "tta_crop must be in [0, 0.5], got 0.75");
  c.tta_crop = 0;
  c.precision = "fp16";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "precision must be fp32 or bf16, got 'fp16'");
  c = TrainConfig();
  c.loss.label_smoothing = 1;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "label_smoothing");
  c = TrainConfig();
  c.augment.erase = 2;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "erase");
  c = TrainConfig();
  c.model.upsample = "bilinear";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "upsample must be deconv or resize, got 'bilinear'");
}

TEST(Config, MissingFieldsKeepDefaults) {
  auto j = nlohmann::json::parse(R"({"epochs": 3, "model": {"image_size": 128}})");
  const auto c = j.get<TrainConfig>();
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.model.image_size, 128);
  EXPECT_EQ(c.model.id_dim, ModelConfig{}.id_dim);
  EXPECT_EQ(c.batch_size, TrainConfig{}.batch_size);
  // Runs from before these fields existed load as they trained: no adversarial cross term,
  // synchronised batch norm.
  EXPECT_DOUBLE_EQ(c.loss.adv_cross, 0.0);
  EXPECT_TRUE(c.sync_bn);
  EXPECT_TRUE(c.skip_critic_grads);
  EXPECT_EQ(c.loss.cross_pairs, "any");
  EXPECT_EQ(c.data.cmu_eyes, "all");
  EXPECT_EQ(c.flip, "");
}

TEST(Config, StoredNumbersMustFitTheirFields) {
  // Found by scripts/fuzz.sh: nlohmann's conversion of 1e20 into an int is undefined behaviour.
  auto parse = [](const char* text) { return nlohmann::json::parse(text).get<TrainConfig>(); };
  EXPECT_THROW_MSG(parse(R"({"epochs": 99999999999999999993})"), ConfigError,
                   "config field 'epochs': 1e+20 does not fit its type");
  EXPECT_THROW_MSG(parse(R"({"epochs": 4294967296})"), ConfigError, "config field 'epochs'");
  EXPECT_THROW_MSG(parse(R"({"epochs": -3000000000})"), ConfigError, "config field 'epochs'");
  EXPECT_THROW_MSG(parse(R"({"epochs": 2.5})"), ConfigError, "config field 'epochs': 2.5");
  EXPECT_THROW_MSG(parse(R"({"seed": -1})"), ConfigError, "config field 'seed'");
  EXPECT_EQ(parse(R"({"epochs": 7.0})").epochs, 7);  // a whole number written as a float is fine
  EXPECT_EQ(parse(R"({"seed": 18446744073709551615})").seed, 18446744073709551615ull);
  EXPECT_THROW(parse(R"({"epochs": "7"})"), nlohmann::json::type_error);
}

TEST(Config, DefaultsValidateAndFollowThePaper) {
  TrainConfig c;
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.model.id_dim, 50);
  EXPECT_DOUBLE_EQ(c.loss.alpha, 1.0);
  EXPECT_DOUBLE_EQ(c.loss.beta, 1e-4);
  EXPECT_DOUBLE_EQ(c.optim.lr, 2e-4);
  EXPECT_DOUBLE_EQ(c.optim.beta1, 0.5);
}

TEST(Config, OutOfRangeValuesNameTheField) {
  TrainConfig c;
  c.model.image_size = 100;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "image_size must be a multiple of 32");
  c = TrainConfig{};
  c.batch_size = 1;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "batch_size");
  c = TrainConfig{};
  c.model.init = "xavier";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "init must be 'normal' or 'he'");
  c = TrainConfig{};
  c.train_gan = false;
  c.gen_k = 1;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "need the GAN");
  c = TrainConfig{};
  c.data.crop = "zoom";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "crop must be");
  c = TrainConfig{};
  c.data.pose_from_landmarks = 10;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "pose_from_landmarks must be in [0, 9], got 10");
  c.data.pose_from_landmarks = 3;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "add --align DIR|auto");
  c.data.align = "dir";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "add --head-pose-model FILE");
  c.data.head_pose_model = "m.json";
  EXPECT_NO_THROW(c.validate());
  c.data.crop = "center";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "crop 'center' does not apply to aligned faces (--align dir)");
  c.data.align = "auto";  // there it is the crop of a photo without a face
  EXPECT_NO_THROW(c.validate());
  c.data.align_padded = true;  // the padded photo before the cascades: --align auto only
  EXPECT_NO_THROW(c.validate());
  c.data.align = "dir";
  c.data.crop = "auto";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "--align-padded applies to --align auto only");
  EXPECT_THROW_MSG(c.validate(), ConfigError, "posefer align --padded-fallback), got --align 'dir'");
  c = TrainConfig{};
  c.loss.beta = -1;
  EXPECT_THROW_MSG(c.validate(), ConfigError, "loss weight beta");
  c = TrainConfig{};
  c.loss.cross_pairs = "both";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "cross_pairs must be any or one-factor, got 'both'");
  c = TrainConfig{};
  c.data.cmu_eyes = "closed";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "cmu_eyes must be all, open or sunglasses, got 'closed'");
  c = TrainConfig{};
  c.flip = "sideways";
  EXPECT_THROW_MSG(c.validate(), ConfigError, "flip must be empty, auto or pose pairs a:b[,c:d...], got 'sideways'");
}

TEST(Config, ModelEqualityComparesEveryShapeField) {
  ModelConfig a, b;
  EXPECT_EQ(a, b);
  b.pose_head = false;
  EXPECT_NE(a, b);
  b = a;
  b.cls_width = 0.3;
  EXPECT_NE(a, b);
  b = a;
  b.cls_arch = "faceapi";
  EXPECT_NE(a, b);
  b = a;
  b.upsample = "resize";  // different weights: a deconv checkpoint cannot load into it
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace posefer
