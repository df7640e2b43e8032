// Shapes, value ranges, input checks and initialisation of the networks (generator.h,
// discriminators.h, classifier.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "posefer/core/check.h"
#include "posefer/model/classifier.h"
#include "posefer/model/deconv.h"
#include "posefer/model/discriminators.h"
#include "posefer/model/generator.h"
#include "posefer/model/precision.h"
#include "test_support.h"

namespace posefer {
namespace {

using Sizes = std::vector<int64_t>;

// A model small enough that N = 224 runs in well under a second on a CPU.
ModelConfig small_config(int n, int c) {
  ModelConfig cfg;
  cfg.image_size = n;
  cfg.channels = c;
  cfg.num_expressions = 4;
  cfg.num_poses = 4;
  cfg.id_dim = 50;
  cfg.gen_width = 0.125;
  cfg.disc_width = 0.25;
  cfg.cls_width = 0.0625;
  return cfg;
}

torch::Tensor images(int64_t b, int c, int n) { return torch::rand({b, c, n, n}) * 2 - 1; }
torch::Tensor labels(std::vector<int64_t> v) { return torch::tensor(v, torch::kInt64); }

class ModelShapes : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ModelShapes, EveryNetHasTheDocumentedShapesAndRanges) {
  const auto [n, c] = GetParam();
  torch::manual_seed(1);
  const ModelConfig cfg = small_config(n, c);
  Generator gen(cfg);
  DAtt d_att(cfg);
  DId d_i(cfg);
  Classifier cls(cfg);
  init_weights(*gen, "he");  // larger activations than N(0, 0.02): the range check means more
  const auto x = images(2, c, n);
  const auto e = labels({0, 3}), p = labels({2, 1});

  const auto f = gen->encoder->forward(x);
  EXPECT_EQ(f.sizes(), (Sizes{2, 50}));
  EXPECT_LT(f.abs().max().item<float>(), 1.f);

  const auto y = gen->decoder->forward(f, e, p);
  EXPECT_EQ(y.sizes(), (Sizes{2, c, n, n}));
  EXPECT_LT(y.abs().max().item<float>(), 1.f);
  EXPECT_GT(y.abs().max().item<float>(), 0.f);

  const auto g = gen->forward(x, e, p);
  EXPECT_EQ(g.sizes(), (Sizes{2, c, n, n}));
  EXPECT_TRUE(torch::equal(g, y));  // G = G_dec(G_enc(x), e, p)

  const auto a = d_att->forward(x, e, p);
  EXPECT_EQ(a.sizes(), (Sizes{2}));
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_EQ(d_i->forward(f).sizes(), (Sizes{2}));

  const auto out = cls->forward(x);
  EXPECT_EQ(out.expression.sizes(), (Sizes{2, 4}));
  ASSERT_TRUE(out.pose.defined());
  EXPECT_EQ(out.pose.sizes(), (Sizes{2, 4}));
}

INSTANTIATE_TEST_SUITE_P(Model, ModelShapes,
                         ::testing::Combine(::testing::Values(64, 224), ::testing::Values(1, 3)),
                         [](const auto& info) {
                           return "N" + std::to_string(std::get<0>(info.param)) + "_C" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(Model, ClassifierWithoutPoseHeadLeavesPoseUndefined) {
  torch::manual_seed(2);
  ModelConfig cfg = small_config(64, 3);
  cfg.num_expressions = 7;
  cfg.num_poses = 3;
  cfg.pose_head = false;
  cfg.cls_batch_norm = false;
  Classifier cls(cfg);
  const auto out = cls->forward(images(3, 3, 64));
  EXPECT_EQ(out.expression.sizes(), (Sizes{3, 7}));
  EXPECT_FALSE(out.pose.defined());
  EXPECT_TRUE(cls->pose_head.is_empty());
  // With a head: 3 pose logits.
  cfg.pose_head = true;
  Classifier with_head(cfg);
  EXPECT_EQ(with_head->forward(images(3, 3, 64)).pose.sizes(), (Sizes{3, 3}));
}

TEST(Model, FaceApiBackboneClassifierShapesAndParameterGroups) {
  torch::manual_seed(3);
  ModelConfig cfg = small_config(64, 1);
  cfg.num_expressions = 7;
  cfg.num_poses = 3;
  cfg.cls_arch = "faceapi";
  Classifier cls(cfg);
  cls->eval();
  const auto out = cls->forward(images(2, 1, 64));  // grey 64 px: repeated to RGB, resized to 112
  EXPECT_EQ(out.expression.sizes(), (Sizes{2, 7}));
  EXPECT_EQ(out.pose.sizes(), (Sizes{2, 3}));
  EXPECT_TRUE(cls->features.is_empty());
  int64_t backbone = 0, head = 0;
  for (const auto& p : cls->backbone_parameters()) backbone += p.numel();
  for (const auto& p : cls->head_parameters()) head += p.numel();
  EXPECT_EQ(head, 256 * 7 + 7 + 256 * 3 + 3);
  int64_t all = 0;
  for (const auto& p : cls->parameters()) all += p.numel();
  EXPECT_EQ(backbone + head, all);
  EXPECT_GT(backbone, 100000);
  // A vgg19 classifier has no backbone group and refuses pretrained weights.
  Classifier vgg(small_config(64, 1));
  EXPECT_TRUE(vgg->backbone_parameters().empty());
  EXPECT_THROW_MSG(load_pretrained_backbone(*vgg, "/nowhere"), ConfigError, "this one is vgg19");
  // A faceapi classifier given a folder without weights names the missing file.
  EXPECT_THROW_MSG(load_pretrained_backbone(*cls, "/nowhere"), InputError, "/nowhere");
}

// Faces that are not left-right symmetric: a horizontal ramp plus noise.
torch::Tensor ramp_faces() {
  return (torch::linspace(-1, 1, 64).view({1, 1, 1, 64}) + 0.3 * images(4, 3, 64)).clamp(-1, 1);
}

// A faceapi classifier (3 poses) whose probabilities depend on its input: a random net's features
// barely do, so its heads read their standardised variation over `views` (so that a face and its
// mirror, or its crops, differ).
Classifier responsive_classifier(const torch::Tensor& views) {
  ModelConfig cfg = small_config(64, 3);
  cfg.num_poses = 3;
  cfg.cls_arch = "faceapi";
  Classifier cls(cfg);
  cls->eval();
  torch::NoGradGuard no_grad;
  const auto h = cls->backbone->forward(faceapi_input_from_model_range(views));
  const auto mu = h.mean(0), sd = h.std(0) + 1e-12;
  for (auto* head : {&cls->expression_head, &cls->pose_head}) {
    auto w = torch::randn({(*head)->weight.size(0), h.size(1)}) / sd / 16.0;
    (*head)->weight.copy_(w);
    (*head)->bias.copy_(-(w * mu).sum(1));
  }
  return cls;
}

TEST(Model, TestTimeFlipIsMirrorInvariantAndMapsPoses) {
  torch::manual_seed(4);
  const auto x = ramp_faces();
  Classifier cls = responsive_classifier(torch::cat({x, x.flip({3})}));
  const std::vector<int64_t> mirror{2, 1, 0};
  const auto a = classifier_probabilities(*cls, x, true, mirror);
  const auto b = classifier_probabilities(*cls, x.flip({3}), true, mirror);
  // A face and its mirror get the same expression probabilities, and mirrored poses.
  EXPECT_LT((a.expression - b.expression).abs().max().item<double>(), 1e-6);
  EXPECT_LT((a.pose - b.pose.index_select(1, torch::tensor(mirror))).abs().max().item<double>(), 1e-6);
  EXPECT_LT((a.expression.sum(1) - 1).abs().max().item<double>(), 1e-6);
  // Without the flip: the plain softmax, which is not mirror invariant.
  const auto plain = classifier_probabilities(*cls, x, false, mirror);
  EXPECT_LT((plain.expression - torch::softmax(cls->forward(x).expression, 1)).abs().max().item<double>(), 1e-6);
  EXPECT_GT((plain.expression - classifier_probabilities(*cls, x.flip({3}), false, mirror).expression)
                .abs().max().item<double>(), 1e-4);
  EXPECT_THROW_MSG(classifier_probabilities(*cls, x, true, {1, 0}), ShapeError, "a mirror map of 2 poses");
}

TEST(Model, TestTimeCropsAreTheCornersAndCentreResizedBack) {
  // A column ramp (value = column index): a crop resized back keeps the ramp's mean shifted by
  // the crop's left edge. n = 8, f = 0.25: side 6, far edge 2, centre at 1.
  const auto ramp = torch::arange(8, torch::kFloat).view({1, 1, 1, 8}).expand({2, 3, 8, 8}).contiguous();
  const auto crops = test_time_crops(ramp, 0.25);
  ASSERT_EQ(crops.size(), 5u);
  for (const auto& c : crops) EXPECT_EQ(c.sizes(), ramp.sizes());
  const double tl = crops[0].mean().item<double>();
  EXPECT_NEAR(crops[1].mean().item<double>() - tl, 2.0, 1e-5);  // top-right: 2 columns further
  EXPECT_NEAR(crops[2].mean().item<double>() - tl, 0.0, 1e-5);  // bottom-left: rows only
  EXPECT_NEAR(crops[3].mean().item<double>() - tl, 2.0, 1e-5);
  EXPECT_NEAR(crops[4].mean().item<double>() - tl, 1.0, 1e-5);  // centre
  EXPECT_NEAR(crops[0][0][0][0][0].item<double>(), 0.0, 1e-6);  // the crop starts at column 0 ...
  EXPECT_NEAR(crops[0][0][0][0][7].item<double>(), 5.0, 1e-6);  // ... and ends at column 5
  EXPECT_THROW_MSG(test_time_crops(ramp, 0.0), ConfigError, "must be in (0, 0.5], got 0");
  EXPECT_THROW_MSG(test_time_crops(ramp, 0.6), ConfigError, "got 0.6");
  EXPECT_THROW_MSG(test_time_crops(ramp.narrow(3, 0, 6), 0.25), ShapeError, "square images");

  torch::manual_seed(6);
  const std::vector<int64_t> mirror{2, 1, 0};
  const auto x = ramp_faces();
  auto views = test_time_crops(x, 0.1);
  views.push_back(x);
  Classifier cls = responsive_classifier(torch::cat(views));
  // With crops: the mean of the six views (the face and its five crops), each with its flip.
  auto sum = classifier_probabilities(*cls, x, true, mirror).expression;
  for (const auto& c : test_time_crops(x, 0.1)) sum = sum + classifier_probabilities(*cls, c, true, mirror).expression;
  const auto cropped = classifier_probabilities(*cls, x, true, mirror, 0.1);
  EXPECT_TRUE(torch::allclose(cropped.expression, sum / 6, 1e-5, 1e-6));
  EXPECT_LT((cropped.expression.sum(1) - 1).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(cropped.pose.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_GT((cropped.expression - classifier_probabilities(*cls, x, true, mirror).expression).abs().max().item<double>(),
            1e-6);
  // A flat face looks the same in every crop: the crops change nothing.
  const auto flat = torch::full({2, 3, 64, 64}, 0.3);
  EXPECT_TRUE(torch::allclose(classifier_probabilities(*cls, flat, false, mirror, 0.2).expression,
                              classifier_probabilities(*cls, flat, false, mirror).expression, 1e-5, 1e-6));
  // An ensemble member carries its own crop setting.
  EXPECT_TRUE(torch::allclose(ensemble_probabilities({{cls.get(), true, mirror, 0.1}}, x).expression, cropped.expression));
  EXPECT_THROW_MSG(classifier_probabilities(*cls, x, false, mirror, -0.1), ConfigError, "must be in [0, 0.5]");
}

TEST(Model, EnsembleAveragesItsMembersProbabilities) {
  torch::manual_seed(5);
  ModelConfig cfg = small_config(64, 3);
  cfg.num_poses = 3;
  Classifier a(cfg), b(cfg);
  a->eval();
  b->eval();
  const auto x = images(4, 3, 64);
  const std::vector<int64_t> mirror{2, 1, 0};
  const auto pa = classifier_probabilities(*a, x, false, mirror);
  const auto pb = classifier_probabilities(*b, x, true, mirror);
  // One member: its own probabilities.
  const auto one = ensemble_probabilities({{a.get(), false, mirror}}, x);
  EXPECT_TRUE(torch::allclose(one.expression, pa.expression));
  // Two: the mean, each with its own test-time flip; still a distribution.
  const auto two = ensemble_probabilities({{a.get(), false, mirror}, {b.get(), true, mirror}}, x);
  EXPECT_TRUE(torch::allclose(two.expression, (pa.expression + pb.expression) / 2));
  EXPECT_TRUE(torch::allclose(two.pose, (pa.pose + pb.pose) / 2));
  EXPECT_LT((two.expression.sum(1) - 1).abs().max().item<double>(), 1e-5);
  EXPECT_GT((two.expression - pa.expression).abs().max().item<double>(), 1e-6);  // b counts
  // A member without a pose head: no pose vote.
  ModelConfig no_pose = cfg;
  no_pose.pose_head = false;
  Classifier c(no_pose);
  c->eval();
  EXPECT_FALSE(ensemble_probabilities({{a.get(), false, mirror}, {c.get(), false, {}}}, x).pose.defined());
  // Members that disagree on the classes cannot vote together.
  ModelConfig five = cfg;
  five.num_expressions = 5;
  Classifier d(five);
  d->eval();
  EXPECT_THROW_MSG(ensemble_probabilities({{a.get(), false, mirror}, {d.get(), false, mirror}}, x), ShapeError,
                   "ensemble member 2 predicts 5 expressions, member 1 4");
  EXPECT_THROW_MSG(ensemble_probabilities({}, x), ShapeError, "at least one classifier");
  EXPECT_THROW_MSG(ensemble_probabilities({{nullptr, false, {}}}, x), ShapeError, "member 1 has no classifier");
}

TEST(Model, WrongInputShapesThrowShapeError) {
  torch::manual_seed(3);
  const ModelConfig cfg = small_config(64, 3);
  Generator gen(cfg);
  DAtt d_att(cfg);
  DId d_i(cfg);
  Classifier cls(cfg);
  const auto e = labels({0, 1}), p = labels({1, 0});
  const auto wrong_side = images(2, 3, 32);
  const auto wrong_channels = images(2, 1, 64);

  EXPECT_THROW_MSG(gen->encoder->forward(wrong_side), ShapeError, "G_enc: expected images [B, 3, 64, 64]");
  EXPECT_THROW_MSG(gen->encoder->forward(wrong_channels), ShapeError, "got [2, 1, 64, 64]");
  EXPECT_THROW_MSG(gen->encoder->forward(torch::zeros({3, 64, 64})), ShapeError, "G_enc");
  EXPECT_THROW_MSG(gen->decoder->forward(torch::zeros({2, 49}), e, p), ShapeError,
                   "G_dec: expected f [B, 50]");
  EXPECT_THROW_MSG(gen->decoder->forward(torch::zeros({2, 50}), labels({0, 1, 2}), p), ShapeError,
                   "G_dec: expression/pose labels must be [2]");
  EXPECT_THROW_MSG(gen->decoder->forward(torch::zeros({2, 50}), e, labels({0, 4})), ShapeError,
                   "[0, 4)");
  EXPECT_THROW_MSG(gen->forward(wrong_side, e, p), ShapeError, "G_enc");
  EXPECT_THROW_MSG(d_att->forward(wrong_channels, e, p), ShapeError, "D_att: expected images");
  EXPECT_THROW_MSG(d_att->forward(images(2, 3, 64), labels({0}), p), ShapeError, "D_att: expression/pose");
  EXPECT_THROW_MSG(d_i->forward(torch::zeros({2, 10})), ShapeError, "D_i: expected codes [B, 50]");
  EXPECT_THROW_MSG(d_i->forward(torch::zeros({50})), ShapeError, "D_i");
  EXPECT_THROW_MSG(cls->forward(wrong_side), ShapeError, "C_exp: expected images [B, 3, 64, 64]");
}

TEST(Model, InvalidConfigThrowsConfigError) {
  ModelConfig cfg = small_config(64, 3);
  cfg.image_size = 48;
  EXPECT_THROW_MSG(Generator{cfg}, ConfigError, "image_size must be a multiple of 32");
  cfg = small_config(64, 2);
  EXPECT_THROW_MSG(Classifier{cfg}, ConfigError, "channels must be 1 or 3");
}

TEST(Model, ScaledChannels) {
  EXPECT_EQ(scaled_channels(64, 1.0), 64);
  EXPECT_EQ(scaled_channels(64, 0.5), 32);
  EXPECT_EQ(scaled_channels(1024, 0.125), 128);
  EXPECT_EQ(scaled_channels(4096, 0.0625), 256);
  EXPECT_EQ(scaled_channels(100, 0.333), 33);   // rounded to nearest
  EXPECT_EQ(scaled_channels(1000, 0.0625), 63);  // 62.5 rounds up
  EXPECT_EQ(scaled_channels(512, 2.0), 1024);
  EXPECT_EQ(scaled_channels(16, 0.125), 4);  // 2 -> floor of 4
  EXPECT_EQ(scaled_channels(64, 0.01), 4);
}

TEST(Model, LayerWidthsFollowTheWidthFactor) {
  ModelConfig cfg = small_config(64, 3);
  cfg.gen_width = 0.25;
  Encoder enc(cfg);
  // convs = [conv, relu] x 5; last conv 1024 * 0.25 = 256 channels; FC input 256 * 2 * 2.
  auto* last = enc->convs[8]->as<torch::nn::Conv2d>();
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->weight.size(0), 256);
  EXPECT_EQ(enc->fc->weight.sizes(), (Sizes{50, 256 * 2 * 2}));
  Decoder dec(cfg);
  EXPECT_EQ(dec->base_side, 2);
  EXPECT_EQ(dec->base_channels, 256);
  EXPECT_EQ(dec->fc->weight.sizes(), (Sizes{256 * 2 * 2, dec->input_dim()}));
}

TEST(Model, DecoderInputDimension) {
  ModelConfig cfg = small_config(64, 3);
  cfg.id_dim = 50;
  cfg.num_expressions = 4;
  cfg.num_poses = 4;
  Decoder dec(cfg);
  EXPECT_EQ(dec->expression_tiles, 12);  // floor(50 / 4)
  EXPECT_EQ(dec->pose_tiles, 25);        // floor(50 / 2)
  EXPECT_EQ(dec->input_dim(), 50 + 4 * 12 + 4 * 25);
  EXPECT_EQ(dec->input_dim(), 198);
  EXPECT_EQ(dec->fc->weight.size(1), 198);

  cfg.num_expressions = 7;
  cfg.num_poses = 1;
  Decoder dec2(cfg);
  EXPECT_EQ(dec2->input_dim(), 50 + 7 * 7 + 1 * 25);

  cfg.id_dim = 3;  // fewer dims than expressions: still tiled once
  Decoder dec3(cfg);
  EXPECT_EQ(dec3->input_dim(), 3 + 7 * 1 + 1 * 1);
}

// Std of all elements of a tensor.
double std_of(const torch::Tensor& t) { return t.to(torch::kDouble).std().item<double>(); }

TEST(Model, NormalInitGivesStd002AndZeroBiases) {
  torch::manual_seed(4);
  ModelConfig cfg = small_config(64, 3);
  cfg.gen_width = 0.5;
  Encoder enc(cfg);
  init_weights(*enc, "normal");
  // Conv 4: 256 -> 512 channels, 5x5: 3.3M weights.
  auto* big = enc->convs[8]->as<torch::nn::Conv2d>();
  ASSERT_NE(big, nullptr);
  EXPECT_NEAR(std_of(big->weight), 0.02, 0.0005);
  EXPECT_NEAR(big->weight.mean().item<double>(), 0.0, 0.0005);
  EXPECT_NEAR(std_of(enc->fc->weight), 0.02, 0.0005);  // 50 x 2048
  for (const auto& p : enc->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) {
      EXPECT_EQ(p.value().abs().max().item<float>(), 0.f) << p.key();
    }
  }

  // Transposed convs are covered too, and batch-norm scales are set to 1.
  Decoder dec(cfg);
  init_weights(*dec, "normal");
  auto* deconv = dec->deconvs[0]->as<FastConvTranspose2d>();
  ASSERT_NE(deconv, nullptr);
  EXPECT_NEAR(std_of(deconv->weight), 0.02, 0.0005);
  EXPECT_EQ(deconv->bias.abs().max().item<float>(), 0.f);

  DAtt d_att(cfg);
  for (auto& p : d_att->named_parameters()) {
    torch::NoGradGuard no_grad;
    p.value().fill_(0.5);
  }
  init_weights(*d_att, "normal");
  int bn_layers = 0;
  for (const auto& m : d_att->modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      ++bn_layers;
      EXPECT_TRUE(torch::equal(bn->weight, torch::ones_like(bn->weight)));
      EXPECT_TRUE(torch::equal(bn->bias, torch::zeros_like(bn->bias)));
    }
  }
  EXPECT_EQ(bn_layers, 4);
  auto* head = d_att->head[0]->as<torch::nn::Linear>();
  ASSERT_NE(head, nullptr);
  EXPECT_NEAR(std_of(head->weight), 0.02, 0.001);
}

TEST(Model, FastDeconvDecoderEqualsPlainTransposedConvolutions) {
  // Same weights, polyphase (fast_deconv) vs torch::conv_transpose2d: outputs and gradients of
  // the whole decoder agree within 1e-4, and state dicts are interchangeable.
  torch::manual_seed(11);
  ModelConfig fast_cfg = small_config(64, 3);
  fast_cfg.fast_deconv = true;
  ModelConfig plain_cfg = fast_cfg;
  plain_cfg.fast_deconv = false;
  Decoder fast(fast_cfg), plain(plain_cfg);
  init_weights(*fast, "he");
  {
    torch::NoGradGuard no_grad;
    auto src = fast->named_parameters();
    for (auto& p : plain->named_parameters()) p.value().copy_(src[p.key()]);
  }
  auto f = torch::rand({3, 50}) * 2 - 1;
  auto e = torch::tensor({0, 1, 3}, torch::kInt64), pz = torch::tensor({2, 0, 1}, torch::kInt64);
  auto y_fast = fast->forward(f, e, pz);
  auto y_plain = plain->forward(f, e, pz);
  EXPECT_LT((y_fast - y_plain).abs().max().item<double>(), 1e-4);
  auto g = torch::rand_like(y_fast);
  (y_fast * g).sum().backward();
  (y_plain * g).sum().backward();
  auto pf = fast->named_parameters();
  int compared = 0;
  for (const auto& p : plain->named_parameters()) {
    const double scale = std::max(1.0, p.value().grad().abs().max().item<double>());
    EXPECT_LT((pf[p.key()].grad() - p.value().grad()).abs().max().item<double>(), 1e-4 * scale) << p.key();
    ++compared;
  }
  EXPECT_EQ(compared, 2 + 2 * 7);  // fc + 7 transposed convs (weight and bias each)
}

TEST(Model, ResizeUpsamplingDecoderHasTheDocumentedLayersAndShapes) {
  // upsample "resize": each stride-2 transposed conv becomes nearest x2 + a 3x3 conv with the
  // same channels; the output keeps the decoder's shape and range and the codes still steer it.
  torch::manual_seed(12);
  ModelConfig cfg = small_config(64, 3);
  cfg.upsample = "resize";
  Decoder dec(cfg);
  init_weights(*dec, "he");
  int convs = 0, transposed = 0;
  for (const auto& m : dec->deconvs->modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2dImpl>()) {
      EXPECT_EQ(c->options.kernel_size()->at(0), 3);
      ++convs;
    }
    if (m->as<FastConvTranspose2dImpl>()) ++transposed;
  }
  EXPECT_EQ(convs, 5);
  EXPECT_EQ(transposed, 2);  // the two stride-1 layers at full size stay as they are
  auto f = torch::rand({2, 50}) * 2 - 1;
  auto y = dec->forward(f, labels({0, 3}), labels({2, 1}));
  EXPECT_EQ(y.sizes(), (Sizes{2, 3, 64, 64}));
  EXPECT_LT(y.abs().max().item<float>(), 1.f);
  auto other = dec->forward(f, labels({1, 3}), labels({2, 1}));
  EXPECT_GT((other[0] - y[0]).abs().max().item<double>(), 1e-3);
  // A deconv decoder's weights do not fit it (different layer shapes), and the full generator works.
  ModelConfig deconv_cfg = cfg;
  deconv_cfg.upsample = "deconv";
  Decoder plain(deconv_cfg);
  EXPECT_NE(dec->named_parameters()["deconvs.1.weight"].sizes(), plain->named_parameters()["deconvs.0.weight"].sizes());
  Generator gen(cfg);
  EXPECT_EQ(gen->forward(images(1, 3, 64), labels({2}), labels({0})).sizes(), (Sizes{1, 3, 64, 64}));
  cfg.upsample = "bicubic";
  EXPECT_THROW_MSG(Decoder{cfg}, ConfigError, "upsample must be deconv or resize, got 'bicubic'");
}

TEST(Model, DecoderCodesTiledOrOneHot) {
  // g_codes "tiled" (default, the authors' code): [f, +-1 expression x floor(d/E), +-1 pose x
  // floor(d/2)]; "onehot" (the paper as printed): [f, 0/1 expression, 0/1 pose], once.
  torch::manual_seed(13);
  ModelConfig cfg = small_config(64, 3);  // d 50, E 4, P 4
  Decoder tiled(cfg);
  EXPECT_EQ(tiled->input_dim(), 50 + 4 * 12 + 4 * 25);
  cfg.g_codes = "onehot";
  Decoder onehot(cfg);
  EXPECT_EQ(onehot->input_dim(), 50 + 4 + 4);
  EXPECT_EQ(onehot->fc->weight.size(1), 58);
  // Known values: the decoder is its layers applied to [f, e, p] with 0/1 codes.
  torch::NoGradGuard no_grad;
  auto f = torch::rand({2, 50}) * 2 - 1;
  auto e = labels({3, 0}), p = labels({1, 2});
  auto z = torch::cat({f, torch::tensor({0.f, 0.f, 0.f, 1.f, 1.f, 0.f, 0.f, 0.f}).view({2, 4}),
                       torch::tensor({0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 1.f, 0.f}).view({2, 4})}, 1);
  auto expected = onehot->deconvs->forward(torch::relu(onehot->fc->forward(z)).view({2, -1, 2, 2}));
  auto y = onehot->forward(f, e, p);
  EXPECT_EQ(y.sizes(), (Sizes{2, 3, 64, 64}));
  EXPECT_LT((y - expected).abs().max().item<double>(), 1e-6);
  // A tiled checkpoint does not fit a one-hot G (checkpoint compatibility).
  EXPECT_NE(cfg, small_config(64, 3));
  cfg.g_codes = "binary";
  EXPECT_THROW_MSG(Decoder{cfg}, ConfigError, "g_codes must be tiled or onehot, got 'binary'");
}

TEST(Model, HeInitScalesWithFanIn) {
  torch::manual_seed(5);
  ModelConfig cfg = small_config(64, 3);
  cfg.gen_width = 0.5;
  Encoder enc(cfg);
  init_weights(*enc, "he");
  auto* first = enc->convs[0]->as<torch::nn::Conv2d>();  // 3 -> 32, fan_in 75
  auto* big = enc->convs[8]->as<torch::nn::Conv2d>();    // 256 -> 512, fan_in 6400
  EXPECT_NEAR(std_of(first->weight), std::sqrt(2.0 / 75), 0.05 * std::sqrt(2.0 / 75));
  EXPECT_NEAR(std_of(big->weight), std::sqrt(2.0 / 6400), 0.01 * std::sqrt(2.0 / 6400));
}

TEST(Model, PoseAndExpressionCodesChangeTheDecodedImage) {
  torch::manual_seed(6);
  const ModelConfig cfg = small_config(64, 1);
  Decoder dec(cfg);
  init_weights(*dec, "normal");
  dec->eval();
  torch::NoGradGuard no_grad;
  const auto f = torch::rand({2, 50}) * 2 - 1;
  const auto base = dec->forward(f, labels({1, 1}), labels({0, 0}));
  const auto again = dec->forward(f, labels({1, 1}), labels({0, 0}));
  const auto other_pose = dec->forward(f, labels({1, 1}), labels({2, 2}));
  const auto other_expr = dec->forward(f, labels({3, 3}), labels({0, 0}));
  EXPECT_TRUE(torch::equal(base, again));
  const double scale = base.abs().max().item<double>();
  ASSERT_GT(scale, 0.0);
  // The change is a sizeable fraction of the output, not rounding noise.
  EXPECT_GT((other_pose - base).abs().max().item<double>(), 0.05 * scale);
  EXPECT_GT((other_expr - base).abs().max().item<double>(), 0.05 * scale);
  // Per-sample labels: changing only sample 1's pose leaves sample 0 alone.
  const auto mixed = dec->forward(f, labels({1, 1}), labels({0, 2}));
  EXPECT_TRUE(torch::allclose(mixed[0], base[0], 1e-5, 1e-7));
  EXPECT_TRUE(torch::allclose(mixed[1], other_pose[1], 1e-5, 1e-7));
}

TEST(Precision, Bf16ScopeRunsProductsInBfloat16AndRestoresTheCallersState) {
  const auto a = torch::rand({4, 8}), b = torch::rand({8, 3});
  const auto img = torch::rand({1, 2, 6, 6}), w = torch::rand({3, 2, 3, 3});
  auto conv = [&] { return torch::conv2d(img, w).scalar_type(); };
  ASSERT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat);
  {
    const PrecisionScope bf16("bf16", torch::kCPU);
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(conv(), torch::kBFloat16);
    EXPECT_EQ((a + 1).scalar_type(), torch::kFloat);  // elementwise ops keep their dtype
    {
      const PrecisionScope fp32("fp32", torch::kCPU);  // nested: off inside, on again after
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat);
    }
    EXPECT_EQ(conv(), torch::kBFloat16);
    // No cast cache: a weight changed in place between two products is read again.
    auto weight = torch::ones({8, 3}, torch::requires_grad());
    const auto before = torch::matmul(a, weight).sum().item<float>();
    {
      torch::NoGradGuard no_grad;
      weight.mul_(2);
    }
    EXPECT_NEAR(torch::matmul(a, weight).sum().item<float>(), 2 * before, 0.02 * before);
  }
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat);
  EXPECT_EQ(conv(), torch::kFloat);
  EXPECT_THROW_MSG(PrecisionScope("fp16", torch::kCPU), ConfigError, "precision must be fp32 or bf16, got 'fp16'");
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat);  // a refused scope changes nothing
}

}  // namespace
}  // namespace posefer
