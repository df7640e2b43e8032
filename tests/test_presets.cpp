#include "posefer/core/presets.h"

#include <gtest/gtest.h>

#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"
#include "test_support.h"

namespace posefer {
namespace {

TEST(Presets, EveryPresetValidatesAndChoosesOnValidation) {
  ASSERT_EQ(preset_names(), (std::vector<std::string>{"fer2013", "genki", "paper", "cmu"}));
  for (const auto& name : {"fer2013", "genki", "cmu"}) {
    TrainConfig c;
    c.data.spec = "cmu:x";
    apply_preset(name, c);
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_FALSE(preset_summary(name).empty());
    // Every preset picks its epoch on a validation part, never on test images.
    EXPECT_TRUE(c.select_on_val) << name;
    EXPECT_TRUE(c.data.fold == "official" || c.data.val_fraction > 0) << name;
    // GENKI's backbone was chosen on its validation people (docs/presets.md).
    EXPECT_EQ(c.model.cls_arch, std::string(name) == "genki" ? "faceres" : "faceapi") << name;
    EXPECT_TRUE(c.augment.flip) << name;
    EXPECT_TRUE(c.tta_flip) << name;
    EXPECT_EQ(c.optim.cls_schedule, "cosine") << name;
  }
}

TEST(Presets, KnownValuesAndOnlyNamedFieldsChange) {
  TrainConfig c;
  c.seed = 42;
  c.data.spec = "fer2013:somewhere";
  apply_preset("fer2013", c);
  EXPECT_EQ(c.data.fold, "official");
  EXPECT_EQ(c.model.image_size, 96);
  EXPECT_FALSE(c.model.pose_head);
  EXPECT_FALSE(c.train_gan);
  EXPECT_EQ(c.gen_k, 0);
  EXPECT_DOUBLE_EQ(c.loss.label_smoothing, 0.1);
  EXPECT_DOUBLE_EQ(c.optim.cls_backbone_lr, 1.0);  // chosen on PublicTest (docs/presets.md)
  EXPECT_EQ(c.epochs, 30);                         // three cosine cycles: chosen on PublicTest
  EXPECT_EQ(c.optim.cls_cycle, 10);
  EXPECT_EQ(c.seed, 42u);                      // not the preset's
  EXPECT_EQ(c.data.spec, "fer2013:somewhere");  // the user's data
  TrainConfig g;
  apply_preset("cmu", g);
  EXPECT_DOUBLE_EQ(g.data.val_fraction, 0.2);
  EXPECT_EQ(g.data.fold, "0/5");
  EXPECT_EQ(g.model.image_size, 96);  // chosen over 64 on validation people (docs/presets.md)
  EXPECT_DOUBLE_EQ(g.optim.cls_backbone_lr, 0.1);
  EXPECT_DOUBLE_EQ(g.tta_crop, 0.1);  // chosen on validation people (docs/results/presets/tta_crop.md)
  EXPECT_EQ(g.epochs, 60);            // two cosine cycles of 30: chosen on validation people
  EXPECT_EQ(g.optim.cls_cycle, 30);
  EXPECT_DOUBLE_EQ(c.tta_crop, 0.0);  // fer2013: not (yet) chosen
  EXPECT_EQ(c.data.align, "");        // fer2013: its 48 px crops are faces already
  TrainConfig k;
  k.data.spec = "genki:somewhere";
  apply_preset("genki", k);
  // Aligned, with the centre crop kept for photos without a face: chosen on validation photos
  // (docs/results/presets/genki_align.md).
  EXPECT_EQ(k.data.align, "auto");
  EXPECT_EQ(k.data.crop, "center");
  EXPECT_DOUBLE_EQ(k.data.crop_fraction, 0.6);
  EXPECT_DOUBLE_EQ(auto_align_job(k.data, k.model.image_size, "").center_fallback, 0.6);
}

TEST(Presets, UnknownNameNamesTheValidOnes) {
  TrainConfig c;
  EXPECT_THROW_MSG(apply_preset("imagenet", c), ConfigError, "unknown preset 'imagenet' (presets: fer2013, genki, paper, cmu)");
  EXPECT_THROW_MSG(preset_summary(""), ConfigError, "unknown preset");
}

TEST(Presets, PaperEqualsTheDocumentedTable) {
  // docs/presets.md, "--preset paper": every setting where it differs from posefer's defaults.
  TrainConfig c;
  c.data.spec = "cmu:x";
  apply_preset("paper", c);
  EXPECT_NO_THROW(c.validate());
  EXPECT_TRUE(c.train_gan);
  EXPECT_EQ(c.model.cls_arch, "vgg19");
  EXPECT_DOUBLE_EQ(c.model.cls_width, 1.0);
  EXPECT_TRUE(c.model.cls_batch_norm);
  EXPECT_FALSE(c.model.pose_head);
  EXPECT_EQ(c.model.init, "normal");
  EXPECT_DOUBLE_EQ(c.model.gen_width, 1.0);
  EXPECT_DOUBLE_EQ(c.model.disc_width, 1.0);
  EXPECT_DOUBLE_EQ(c.loss.alpha, 1.0);
  EXPECT_DOUBLE_EQ(c.loss.beta, 1e-4);
  EXPECT_DOUBLE_EQ(c.loss.adv_att, 1e-4);
  EXPECT_DOUBLE_EQ(c.loss.adv_id, 1e-4);
  EXPECT_DOUBLE_EQ(c.loss.cls_feedback, 0.0);
  EXPECT_FALSE(c.loss.feedback_pose);
  EXPECT_DOUBLE_EQ(c.loss.cross_l1, 0.0);
  EXPECT_DOUBLE_EQ(c.loss.adv_cross, 0.0);
  EXPECT_EQ(c.loss.gen_share, "count");
  EXPECT_EQ(c.loss.cls_bn, "real");
  EXPECT_EQ(c.extra_g_steps, 0);
  EXPECT_EQ(c.flip, "");
  EXPECT_EQ(c.gen_k, 5);
  EXPECT_EQ(c.gen_warmup, 0);
  EXPECT_DOUBLE_EQ(c.optim.lr, 2e-4);
  EXPECT_DOUBLE_EQ(c.optim.beta1, 0.5);
  EXPECT_FALSE(c.augment.any());
  EXPECT_FALSE(c.tta_flip);
}

}  // namespace
}  // namespace posefer
