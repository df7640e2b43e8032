// C_exp: the expression classifier (paper §4.2: VGG-19), with an optional pose head.
//
// Pretrained backbones (the constructor never reads files; load_pretrained_backbone does):
// cls_arch "faceapi": face-api's FaceFeatureExtractor (`backbone`, 256-d features; images go
// through faceapi_input_from_model_range); "faceres": human's faceres MobileNet-v1 (`faceres`,
// 1024-d features at backbone_side px; faceres_input_from_model_range). Then dropout
// cls_dropout and the linear heads on the features.
//
// Input x float [B, C, N, N] in [-1, 1]. Layout: 5 blocks of 3x3 convs (2, 2, 4, 4, 4 convs;
// 64, 128, 256, 512, 512 channels x cls_width), ReLU (and batch norm when cls_batch_norm),
// 2x2 max-pool after each block; then FC 4096w + ReLU + dropout, FC 4096w + ReLU + dropout
// (probability cls_dropout, 0.5 by default; 0 = off), and heads: expression logits [B, E] and, with pose_head, pose logits [B, P].
// Throws ShapeError on wrong input shapes. With `sync_bn` set (data-parallel training, W > 1)
// batch norm in training mode uses the global batch's statistics (sync_batch_norm.h).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "posefer/core/config.h"
#include "posefer/face/face_feature_extractor.h"
#include "posefer/face/faceres_net.h"

namespace posefer {

class DistContext;  // distributed.h: the model layer only holds a pointer for batch-norm sync

struct ClassifierOutput {
  torch::Tensor expression;  // logits [B, E]
  torch::Tensor pose;        // logits [B, P], undefined without a pose head
};

struct ClassifierImpl : torch::nn::Module {
  explicit ClassifierImpl(const ModelConfig& config);
  ClassifierOutput forward(const torch::Tensor& x);

  ModelConfig config;
  std::shared_ptr<DistContext> sync_bn;  // null = plain batch norm
  // Whether C_exp has a pretrained backbone (faceapi, faceres).
  bool has_backbone() const { return !backbone.is_empty() || !faceres.is_empty(); }
  // The pretrained backbone's features of x (model range, as forward): float [B, D].
  torch::Tensor backbone_features(const torch::Tensor& x);
  // The heads on backbone features (dropout, expression and pose logits).
  ClassifierOutput heads(const torch::Tensor& features);
  // Parameters of the pretrained backbone (empty for vgg19), for their own learning rate.
  std::vector<torch::Tensor> backbone_parameters();
  // The other parameters (the whole net for vgg19).
  std::vector<torch::Tensor> head_parameters();

  torch::nn::Sequential features{nullptr};   // vgg19
  FaceFeatureExtractor backbone{nullptr};    // faceapi
  FaceResNet faceres{nullptr};               // faceres (registered as "backbone" too)
  torch::nn::Sequential fc{nullptr};
  torch::nn::Linear expression_head{nullptr};
  torch::nn::Linear pose_head{nullptr};
};
TORCH_MODULE(Classifier);

// C_exp's softmax probabilities on x (float [B, C, N, N] in [-1, 1]), no gradients; the caller
// sets eval mode. tta_flip: averaged with those of the left-right mirrored images, whose pose
// probabilities are mapped back through pose_mirror (pose_mirror(...) of labels.h; empty = every
// pose its own mirror). tta_crop f > 0: averaged over x and its test_time_crops(x, f) (a crop
// keeps the pose). `pose` is undefined without a pose head. Throws ConfigError for f outside
// [0, 0.5].
ClassifierOutput classifier_probabilities(ClassifierImpl& cls, const torch::Tensor& x, bool tta_flip,
                                          const std::vector<int64_t>& pose_mirror, double tta_crop = 0);

// The five crops of test-time cropping: the four corners and the centre of side
// round((1 - f) N) (at least 1) of x [B, C, N, N], each resized back to N x N (bilinear), in that
// order (top-left, top-right, bottom-left, bottom-right, centre). Throws ConfigError for f
// outside (0, 0.5], ShapeError for a non-square 4-d x.
std::vector<torch::Tensor> test_time_crops(const torch::Tensor& x, double f);

// One voter of an ensemble: a classifier (in eval mode, on x's device) with its own test-time
// settings, as classifier_probabilities takes them.
struct ClassifierMember {
  ClassifierImpl* cls = nullptr;
  bool tta_flip = false;
  std::vector<int64_t> pose_mirror;
  double tta_crop = 0;
};

// The ensemble's probabilities on x: the mean of each member's classifier_probabilities (an
// unweighted vote of probabilities, so the members should be comparably good). `pose` is defined
// only when every member has a pose head. Throws ShapeError for no member, a null classifier, or
// members whose expression (or pose) class counts differ.
ClassifierOutput ensemble_probabilities(const std::vector<ClassifierMember>& members, const torch::Tensor& x);

// Loads the pretrained backbone's weights from `model_dir`: faceapi: face-api's expression
// model's feature extractor (face_expression_model); faceres: human's models/faceres.json.
// Throws ConfigError for a vgg19 classifier, InputError naming the file when the weights are
// missing or malformed.
void load_pretrained_backbone(ClassifierImpl& cls, const std::string& model_dir);

// The model folder setup installs for `cls_arch`'s weights: faceapi: default_faceapi_model_dir();
// faceres: default_human_model_dir(). Throws ConfigError for vgg19.
std::string default_pretrained_dir(const std::string& cls_arch);

// The side a faceres backbone runs at for `config` (backbone_side, or its default).
int64_t faceres_side(const ModelConfig& config);

}  // namespace posefer
