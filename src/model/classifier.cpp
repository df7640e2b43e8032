#include "posefer/model/classifier.h"

#include "posefer/core/check.h"
#include "posefer/model/generator.h"
#include "posefer/model/sync_batch_norm.h"

namespace posefer {

namespace nn = torch::nn;

ClassifierImpl::ClassifierImpl(const ModelConfig& cfg) : config(cfg) {
  cfg.validate();
  if (cfg.cls_arch == "faceapi" || cfg.cls_arch == "faceres") {
    int64_t dim = 256;
    if (cfg.cls_arch == "faceapi") {
      backbone = register_module("backbone", FaceFeatureExtractor());
    } else {
      faceres = register_module("backbone", FaceResNet());
      dim = kFaceResFeatures;
    }
    fc = register_module("fc", nn::Sequential(nn::Dropout(cfg.cls_dropout)));
    expression_head = register_module("expression_head", nn::Linear(dim, cfg.num_expressions));
    if (cfg.pose_head) pose_head = register_module("pose_head", nn::Linear(dim, cfg.num_poses));
    return;
  }
  features = nn::Sequential();
  int64_t in = cfg.channels;
  const int blocks[5][2] = {{2, 64}, {2, 128}, {4, 256}, {4, 512}, {4, 512}};
  for (const auto& block : blocks) {
    const int64_t out = scaled_channels(block[1], cfg.cls_width);
    for (int i = 0; i < block[0]; ++i) {
      features->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)));
      if (cfg.cls_batch_norm) features->push_back(nn::BatchNorm2d(out));
      features->push_back(nn::ReLU());
      in = out;
    }
    features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  }
  const int64_t side = cfg.image_size / 32;
  const int64_t hidden = scaled_channels(4096, cfg.cls_width);
  fc = nn::Sequential(nn::Linear(in * side * side, hidden), nn::ReLU(), nn::Dropout(cfg.cls_dropout),
                      nn::Linear(hidden, hidden), nn::ReLU(), nn::Dropout(cfg.cls_dropout));
  expression_head = nn::Linear(hidden, cfg.num_expressions);
  register_module("features", features);
  register_module("fc", fc);
  register_module("expression_head", expression_head);
  if (cfg.pose_head) {
    pose_head = nn::Linear(hidden, cfg.num_poses);
    register_module("pose_head", pose_head);
  }
}

ClassifierOutput ClassifierImpl::forward(const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == config.channels &&
                          x.size(2) == config.image_size && x.size(3) == config.image_size,
                      "C_exp: expected images [B, ", config.channels, ", ", config.image_size, ", ",
                      config.image_size, "], got ", x.sizes());
  if (has_backbone()) return heads(backbone_features(x));
  return heads(forward_layers(features, x, sync_bn.get()).flatten(1));
}

torch::Tensor ClassifierImpl::backbone_features(const torch::Tensor& x) {
  if (!backbone.is_empty()) return backbone->forward(faceapi_input_from_model_range(x));
  POSEFER_CHECK_CONFIG(!faceres.is_empty(), "C_exp (", config.cls_arch, ") has no pretrained backbone");
  return faceres->forward(faceres_input_from_model_range(x, faceres_side(config)));
}

ClassifierOutput ClassifierImpl::heads(const torch::Tensor& features) {
  auto h = fc->forward(features);
  ClassifierOutput out;
  out.expression = expression_head->forward(h);
  if (pose_head) out.pose = pose_head->forward(h);
  return out;
}

std::vector<torch::Tensor> ClassifierImpl::backbone_parameters() {
  if (!backbone.is_empty()) return backbone->parameters();
  if (!faceres.is_empty()) return faceres->parameters();
  return {};
}

std::vector<torch::Tensor> ClassifierImpl::head_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& kv : named_parameters()) {
    if (!has_backbone() || kv.key().rfind("backbone.", 0) != 0) out.push_back(kv.value());
  }
  return out;
}

std::vector<torch::Tensor> test_time_crops(const torch::Tensor& x, double f) {
  POSEFER_CHECK_CONFIG(f > 0 && f <= 0.5, "test-time crop fraction must be in (0, 0.5], got ", f);
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(2) == x.size(3), "test-time crops need square images [B, C, N, N], got ",
                      x.sizes());
  const int64_t n = x.size(2);
  const int64_t s = std::max<int64_t>(1, std::llround((1.0 - f) * static_cast<double>(n)));
  const int64_t far = n - s;
  const std::pair<int64_t, int64_t> corners[] = {{0, 0}, {0, far}, {far, 0}, {far, far}, {far / 2, far / 2}};
  namespace F = torch::nn::functional;
  std::vector<torch::Tensor> out;
  for (const auto& [top, left] : corners) {
    auto crop = x.narrow(2, top, s).narrow(3, left, s);
    out.push_back(F::interpolate(crop, F::InterpolateFuncOptions()
                                           .size(std::vector<int64_t>{n, n})
                                           .mode(torch::kBilinear)
                                           .align_corners(false)));
  }
  return out;
}

ClassifierOutput classifier_probabilities(ClassifierImpl& cls, const torch::Tensor& x, bool tta_flip,
                                          const std::vector<int64_t>& pose_mirror, double tta_crop) {
  if (tta_crop > 0) {
    torch::NoGradGuard no_grad;
    // The whole face and its five crops, each with its own flip: the mean of six views.
    ClassifierOutput sum = classifier_probabilities(cls, x, tta_flip, pose_mirror, 0);
    const auto crops = test_time_crops(x, tta_crop);
    for (const auto& c : crops) {
      ClassifierOutput p = classifier_probabilities(cls, c, tta_flip, pose_mirror, 0);
      sum.expression = sum.expression + p.expression;
      if (sum.pose.defined()) sum.pose = sum.pose + p.pose;
    }
    const double views = static_cast<double>(crops.size() + 1);
    sum.expression = sum.expression / views;
    if (sum.pose.defined()) sum.pose = sum.pose / views;
    return sum;
  }
  POSEFER_CHECK_CONFIG(tta_crop == 0, "test-time crop fraction must be in [0, 0.5], got ", tta_crop);
  torch::NoGradGuard no_grad;
  auto out = cls.forward(x);
  ClassifierOutput p{torch::softmax(out.expression, 1), out.pose.defined() ? torch::softmax(out.pose, 1) : torch::Tensor()};
  if (!tta_flip) return p;
  auto flipped = cls.forward(x.flip({3}));
  p.expression = (p.expression + torch::softmax(flipped.expression, 1)) / 2;
  if (p.pose.defined()) {
    auto fp = torch::softmax(flipped.pose, 1);
    if (!pose_mirror.empty()) {
      POSEFER_CHECK_SHAPE(static_cast<int64_t>(pose_mirror.size()) == fp.size(1), "test-time flip: a mirror map of ",
                          pose_mirror.size(), " poses for a pose head of ", fp.size(1));
      // A mirrored photo of pose i shows pose mirror[i]: its probability of mirror[i] is the
      // original's of i.
      fp = fp.index_select(1, torch::tensor(pose_mirror, torch::kInt64).to(fp.device()));
    }
    p.pose = (p.pose + fp) / 2;
  }
  return p;
}

ClassifierOutput ensemble_probabilities(const std::vector<ClassifierMember>& members, const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(!members.empty(), "an ensemble needs at least one classifier");
  ClassifierOutput sum;
  bool every_pose = true;
  for (size_t i = 0; i < members.size(); ++i) {
    const ClassifierMember& m = members[i];
    POSEFER_CHECK_SHAPE(m.cls != nullptr, "ensemble member ", i + 1, " has no classifier");
    ClassifierOutput p = classifier_probabilities(*m.cls, x, m.tta_flip, m.pose_mirror, m.tta_crop);
    if (i == 0) {
      sum = p;
      every_pose = p.pose.defined();
      continue;
    }
    POSEFER_CHECK_SHAPE(p.expression.sizes() == sum.expression.sizes(), "ensemble member ", i + 1, " predicts ",
                        p.expression.size(1), " expressions, member 1 ", sum.expression.size(1));
    sum.expression = sum.expression + p.expression;
    if (every_pose && p.pose.defined()) {
      POSEFER_CHECK_SHAPE(p.pose.sizes() == sum.pose.sizes(), "ensemble member ", i + 1, " predicts ",
                          p.pose.size(1), " poses, member 1 ", sum.pose.size(1));
      sum.pose = sum.pose + p.pose;
    } else {
      every_pose = false;
    }
  }
  const double n = static_cast<double>(members.size());
  sum.expression = sum.expression / n;
  sum.pose = every_pose ? sum.pose / n : torch::Tensor();
  return sum;
}

void load_pretrained_backbone(ClassifierImpl& cls, const std::string& model_dir) {
  POSEFER_CHECK_CONFIG(cls.has_backbone(), "pretrained weights need a classifier with a pretrained backbone "
                                           "(cls_arch faceapi or faceres), this one is ", cls.config.cls_arch);
  torch::NoGradGuard no_grad;
  // copy_ in place: optimisers keep their tensors.
  if (!cls.faceres.is_empty()) {
    cls.faceres->load_weights(load_tfjs_graph_model(faceres_model_path(model_dir)));
  } else {
    cls.backbone->load_weights(load_faceapi_weights(faceapi_manifest_path(model_dir, "face_expression_model")));
  }
}

std::string default_pretrained_dir(const std::string& cls_arch) {
  if (cls_arch == "faceapi") return default_faceapi_model_dir();
  if (cls_arch == "faceres") return default_human_model_dir();
  throw ConfigError("C_exp " + cls_arch + " has no pretrained weights (it trains from scratch)");
}

int64_t faceres_side(const ModelConfig& config) {
  return config.backbone_side > 0 ? config.backbone_side : kFaceResDefaultSide;
}

}  // namespace posefer
