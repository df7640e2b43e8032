// Configuration of the joint model and its training, as plain structs with defaults.
//
// Defaults follow the paper (Zhang et al., CVPR 2018) and, where it is silent, the authors'
// TensorFlow code. Every field is stored in checkpoints (as JSON) so a run can be resumed and
// a checkpoint checked against the config that loads it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace posefer {

// Shapes and widths of the networks. Two checkpoints are compatible iff these are equal.
struct ModelConfig {
  int image_size = 64;       // N: input/output side, a multiple of 32 (paper: 224)
  int channels = 3;          // C: 1 (grey data sets) or 3 (RGB)
  int num_expressions = 4;   // E: expression classes
  int num_poses = 4;         // P: pose classes
  int id_dim = 50;           // d: length of the identity code f(x)
  double gen_width = 1.0;    // G_enc/G_dec channel width factor (1.0 = 64..1024 channels)
  double disc_width = 1.0;   // D_att channel width factor (1.0 = 16..128 channels)
  double cls_width = 0.5;    // C_exp VGG-19 width factor (1.0 = paper's VGG-19, 0.5 = authors' code)
  bool pose_head = true;     // C_exp also predicts pose (a second linear head)
  bool cls_batch_norm = true;  // batch norm after each C_exp conv (VGG-19-BN; trains reliably from scratch)
  // Weight init: "he" (authors' code; default because with N(0, 0.02) the 7-layer decoder's
  // output stays near 0 for hundreds of steps: L1 0.682 -> 0.681 in 30 steps vs 0.36 -> 0.15
  // with he, CMU N = 64) | "normal" = N(0, 0.02) (paper).
  std::string init = "he";
  // G_dec's stride-2 transposed convolutions computed as one stride-1 convolution + pixel
  // shuffle (polyphase form; same weights and results within 1e-4, faster on CPU where Debian's
  // LibTorch runs ConvTranspose2d without oneDNN). Not part of checkpoint compatibility.
  bool fast_deconv = true;
  // How G_dec doubles its side five times: "deconv" (the paper's 5x5 stride-2 transposed
  // convolutions; their uneven kernel overlap leaves period-2 checkerboard texture) | "resize"
  // (nearest-neighbour x2, then a 3x3 stride-1 convolution: every output pixel gets the same
  // number of taps, so no checkerboard from the layout; Odena et al. 2016). Part of checkpoint
  // compatibility.
  std::string upsample = "deconv";
  // G_dec's label codes: "tiled" (the authors' code: signed one-hot, +1 at the label and -1
  // elsewhere, the expression code repeated floor(d/E) times and the pose code floor(d/2) times,
  // so the labels weigh about as much as f(x) in G_dec's input) | "onehot" (the paper as printed:
  // 0/1 one-hot vectors, once). D_att's label maps are signed one-hot either way. Part of
  // checkpoint compatibility (G_dec's first layer changes size).
  std::string g_codes = "tiled";
  // Dropout probability after C_exp's two hidden FC layers (VGG: 0.5; 0 = off, e.g. to compare
  // runs step by step). Not part of checkpoint compatibility (no weights depend on it).
  double cls_dropout = 0.5;
  // C_exp's layout: "vgg19" (the paper's VGG-19 from scratch, sized by cls_width) | "faceapi"
  // (face-api's FaceFeatureExtractor, 256-d features at 112 px RGB, pretrained on faces' expressions)
  // | "faceres" (human's faceres MobileNet-v1, 1024-d features, pretrained on face identity,
  // never on expressions). Pretrained backbones resize the images inside the net and repeat grey
  // to RGB; cls_width and cls_batch_norm do not apply. Part of checkpoint compatibility.
  std::string cls_arch = "vgg19";
  // Side the faceres backbone resizes faces to (0 = its default, 112; 32..512). faceapi always
  // runs at 112. Part of checkpoint compatibility.
  int backbone_side = 0;

  bool operator==(const ModelConfig& o) const;
  bool operator!=(const ModelConfig& o) const { return !(*this == o); }
  // Throws ConfigError naming the field when a value is out of range.
  void validate() const;
};

// Weights of the objective (paper eq. 7).
struct LossConfig {
  double alpha = 1.0;            // content similarity L1(x, G(x, y_e, y_p))
  double beta = 1e-4;            // total variation of G's output
  double adv_att = 1e-4;         // G's adversarial term against D_att
  double adv_id = 1e-4;          // G_enc's adversarial term against D_i
  // Weight of CE(C(G(x, e', p')), e') in G's loss (0 = off). Small: at 0.05 from step 0 the
  // feedback (CE ~3) held a fixed batch's L1 at 0.29 after 75 steps vs 0.13 without it.
  double cls_feedback = 0.01;
  int cls_feedback_warmup = 5;   // epochs before the classifier feedback reaches G
  double pose_cls = 1.0;         // weight of C_exp's pose-head CE relative to the expression CE
  // Cross-reconstruction L1(G(x_a, e_b, p_b), x_b) for a photo b of the same person as a at other
  // labels (0 = the paper's objective). Not in the paper; see trainer.h for why it is on.
  double cross_l1 = 1.0;
  // Which photos count as partners: "any" = every photo of the person at other labels |
  // "one-factor" = only those that differ in exactly one of expression and pose, drawn half
  // the time from each kind. With "any", most partners differ in both (CMU: 18 of 30), so a
  // swapped expression is mostly learnt under a pose change too, from misaligned pairs.
  std::string cross_pairs = "any";
  // Weight of G's adversarial loss on those cross-reconstructions, judged by D_att at the target
  // labels (e_b, p_b); D_att then also learns them as fakes. The paper's D_att only sees G(x) at
  // x's own labels, so nothing adversarial checks that a swapped code shows its expression.
  // 0 = off (the paper's objective). Not in the paper; see trainer.h.
  double adv_cross = 0.0;
  // Weight of the identity-code cycle L1(G_enc(G(x, e'', p'')), f(x)) at random labels (0 = off,
  // the paper's objective): G's faces at new labels must encode to the input's identity code.
  // Not in the paper; see trainer.h.
  double id_cycle = 0.0;
  // Label smoothing of C_exp's cross-entropy on real and generated faces (0 = plain CE).
  double label_smoothing = 0.0;
  // How C_exp's loss weighs its generated faces against the real batch: "batch" = the mean CE of
  // the k*B generated faces added to the real batch's mean CE with weight 1 whatever k is (k only
  // adds variety) | "count" = every face weighs the same, real or generated: k generated faces
  // per real face C_exp sees (k*B, or k per kept face under --cls-train-poses:
  // generated_rows_per_copy, trainer.h), as in the paper's union of N real and kN generated (§4.3.1).
  std::string gen_share = "batch";
  // Batch norm of C_exp with generated faces: "shared" = real and generated faces in one batch
  // (C_exp's running statistics at test time are then mostly those of generated faces) | "real" =
  // two passes: generated faces normalised by their own batch statistics, the running
  // statistics (what tests use) from real faces only.
  std::string cls_bn = "shared";
  // The classifier feedback into G (cls_feedback) includes C_exp's pose-head CE (not in the paper).
  bool feedback_pose = true;
  void validate() const;
};

struct OptimConfig {
  double lr = 2e-4;              // Adam learning rate (all nets)
  double beta1 = 0.5;            // Adam beta1 ("momentum 0.5" in the paper)
  double beta2 = 0.999;          // Adam beta2
  double cls_lr = 2e-4;          // classifier learning rate
  int decay_every = 0;           // staircase decay period in epochs (0 = off)
  double decay_factor = 0.5;     // lr multiplier at each decay step
  // C_exp's own schedule: "step" (the staircase above, as every net) | "cosine" (linear warm-up
  // over cls_warmup epochs, then cosine from cls_lr to 0 at the last epoch, per step).
  std::string cls_schedule = "step";
  double cls_warmup = 0;         // cosine schedule: warm-up epochs (fractions allowed)
  int cls_cycle = 0;             // cosine schedule: epochs per cycle, each a warm restart (0 = one cycle)
  double cls_weight_decay = 0;   // C_exp's Adam weight decay (L2), 0 = off
  // lr of a pretrained backbone (cls_arch faceapi) relative to cls_lr: fine-tuning moves it
  // less than the new head. 0 = frozen backbone (only the head trains).
  double cls_backbone_lr = 0.1;
  void validate() const;
};

// Which data, which split, and how images are prepared. Stored with the run so `evaluate`
// rebuilds exactly the same test set.
struct DataConfig {
  std::string spec;               // "<kind>:<path>" (see dataset.h)
  std::string fold = "0/5";       // split spec (see splits.h): "k/K", "official", "subjects:F"
  uint64_t split_seed = 1;        // seed of the subject shuffle behind the split
  int yaw_bins = 3;               // GENKI: yaw bins = poses
  int cmu_scale = 2;              // CMU: 1 (128x120), 2 (64x60), 4 (32x30)
  std::string cmu_eyes = "all";   // CMU: eye states kept: all | open | sunglasses
  // Reader options of the other sets (DatasetOptions in dataset.h has the details).
  std::string multipie_cameras = "paper";     // Multi-PIE: camera list or "paper" (5 pans)
  std::string multipie_illumination = "07";   // Multi-PIE: illumination list 00..18 or "all"
  int bu3dfe_intensity = 4;       // BU-3DFE: intensity 1..4, 0 = all
  bool bu3dfe_neutral = false;    // BU-3DFE: neutral scans as a 7th class
  int render_size = 128;          // BU-3DFE: rendered view side (32..1024)
  std::string rafd_gaze = "all";  // RaFD: all | frontal | left | right
  std::string data_cache;         // where bu3dfe renders and fer2013csv PNGs go (the CLI sets it)
  std::string crop = "auto";      // resize | center | auto (center for genki, else resize); with
                                  // align "auto", center = the crop of photos without a face
  double crop_fraction = 0.75;    // center crop: side relative to min(h, w)
  int64_t max_train = 0;          // keep at most this many training images (seeded; 0 = all)
  int64_t max_test = 0;           // keep at most this many test/val images (seeded; 0 = all)
  // Face alignment before training: "" = off (crop as above) | a folder written by
  // `posefer align` (aligned PNGs mirroring the data set's layout) | "auto" = align once into
  // align_cache (keyed on the data set and the alignment settings) and use that.
  std::string align;
  std::string align_cache;        // where "auto" keeps aligned sets (the CLI sets it; required for auto)
  // align "auto": where TinyFaceDetector finds no face, detect again on the photo padded with
  // black (padded_detect.h; what `classify` does first) before the Haar cascades.
  bool align_padded = false;
  int pose_from_landmarks = 0;    // P > 0: poses = landmark-estimated yaw in P bins over [-45, 45] (needs align)
  std::string head_pose_model;    // pose_from_landmarks: model JSON written by `posefer headpose --out`
  // "manifest:<csv>" of extra images added to the training part only, e.g. the faces
  // `posefer augment` generated for this data set; their expression and pose names must be this
  // data set's (expressions matched by canonical name, labels.h). "" = none.
  std::string extra_train;
  // Validation subjects carved from the training part of a "k/K" or "subjects:F" split: this
  // fraction of the training subjects (seeded, at least one; 0 = none). Every choice (epoch,
  // setting) is made on them; the test subjects are only scored. "official" has its own.
  double val_fraction = 0.0;
  void validate() const;
};

// Augmentation of the real faces C_exp trains on (not of G's inputs; see TrainConfig::flip).
// Each image draws its own transform from the trainer's seeded generator.
struct AugmentConfig {
  bool flip = false;        // mirror left-right half the time; the pose label is mirrored too
  double shift = 0.0;       // max translation, fraction of the side (uniform in [-shift, shift])
  double scale = 0.0;       // max zoom in or out, relative (uniform in [1 - scale, 1 + scale])
  double rotate = 0.0;      // max rotation in degrees
  double brightness = 0.0;  // max brightness offset, fraction of the [-1, 1] range's half width
  double contrast = 0.0;    // max relative contrast change around the image mean
  double erase = 0.0;       // probability of erasing one random rectangle (2-20% of the area)
  bool any() const;
  void validate() const;
};

struct TrainConfig {
  DataConfig data;
  ModelConfig model;
  LossConfig loss;
  OptimConfig optim;
  int epochs = 30;               // passes over the real training images
  int batch_size = 32;           // real images per step
  int gen_k = 1;                 // k: generated faces per real face for the classifier (0 = real only)
  int gen_warmup = 5;            // epochs before generated faces reach the classifier
  int extra_g_steps = 1;         // extra generator-only steps per batch (CAAE-style; no classifier feedback)
  // Model selection on the validation part (e.g. FER2013 PublicTest): after each epoch whose
  // validation accuracy beats the best so far, write best.pt; the final evaluation uses it.
  bool select_on_val = false;
  AugmentConfig augment;         // augmentation of C_exp's real faces (off by default)
  // Test-time flip: C_exp's probabilities are averaged over each image and its mirror (pose
  // probabilities mirrored back) in validation, evaluate and classify.
  bool tta_flip = false;
  // Test-time crops: 0 = off; f in (0, 0.5] also averages C_exp's probabilities over the four
  // corner crops and the centre crop of side (1 - f) N, each resized back to N (with tta_flip,
  // each of the six views and its mirror). Costs 6x the inference.
  double tta_crop = 0;
  // Pretrained backbone weights (cls_arch faceapi): the face-api model folder ("" = the default,
  // $POSEFER_MODELS or the npm package setup installs) | "none" = random initialisation.
  std::string pretrained;
  bool train_gan = true;         // false: train only C_exp on real images (the k = 0 baseline, ~5x faster)
  // Poses of the real faces C_exp trains on: comma-separated pose names ("" = all). G still
  // trains on every pose; generated faces (k > 0) come at every pose. The unseen-poses protocol
  // (issue: does G's synthesis at poses C_exp never saw help?).
  std::string cls_train_poses;
  // Flip augmentation: each training photo (with its cross-reconstruction partner) is mirrored
  // left-right half the time and its pose becomes the mirrored pose: "" = off | "auto" (left <->
  // right by name) | "a:b,c:d" (pose pairs; see pose_mirror in labels.h). With few people, G
  // otherwise learns each one's photos by heart.
  std::string flip;
  // Data-parallel runs (W > 1): batch norm of D_att, D_i and C_exp over the global batch (true:
  // W processes step exactly as one) or over each rank's shard (false: like W separate batch
  // norms, the running statistics differ by rank and rank 0's are saved; ~2 all-reduces per
  // batch-norm layer and forward pass fewer).
  bool sync_bn = true;
  // G's steps build no weight gradients for D_att, D_i and C_exp, which G's loss passes through
  // but which those steps do not train (a plain implementation computes them and discards them
  // at the nets' own zero_grad): the same parameters bit for bit, ~5% fewer FLOPs per step.
  // false = compute them anyway (to compare).
  bool skip_critic_grads = true;
  // Arithmetic of the training steps: fp32 | bf16 (autocast: convolutions and matrix products
  // in bfloat16, weights and losses in float32; model/precision.h). Evaluation stays float32.
  std::string precision = "fp32";
  int checkpoint_every = 5;      // epochs between checkpoints (the last epoch always saves)
  // Also write checkpoint.pt inside an epoch once this many minutes have passed since the last
  // write (0 = only at epoch ends): a run killed hard (power, OOM killer, a machine taken back)
  // loses at most this much work, not a whole epoch. Not part of a run's results.
  double checkpoint_minutes = 10;
  uint64_t seed = 1;             // seeds weights, shuffling, codes and dropout
  int threads = 0;               // intra-op threads (0 = number of cores)
  std::string device = "auto";   // cpu | cuda | auto
  bool progress = true;          // progress bar on stderr
  void validate() const;
};

void to_json(nlohmann::json& j, const ModelConfig& c);
void from_json(const nlohmann::json& j, ModelConfig& c);
void to_json(nlohmann::json& j, const LossConfig& c);
void from_json(const nlohmann::json& j, LossConfig& c);
void to_json(nlohmann::json& j, const OptimConfig& c);
void from_json(const nlohmann::json& j, OptimConfig& c);
void to_json(nlohmann::json& j, const AugmentConfig& c);
void from_json(const nlohmann::json& j, AugmentConfig& c);
void to_json(nlohmann::json& j, const TrainConfig& c);
void to_json(nlohmann::json& j, const DataConfig& c);
void from_json(const nlohmann::json& j, DataConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);

}  // namespace posefer
