// Evaluation of a trained joint model on a test set: classifier accuracy (overall, per pose,
// per expression, confusion) and checks of how well G disentangles identity from the codes.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "posefer/data/image_cache.h"
#include "posefer/model/joint_model.h"
#include "posefer/metrics/metrics.h"
#include "posefer/report/document.h"

namespace posefer {

// The independent judge: deliberately not VGG-like (3 wide convs + BN, global pooling, two
// linear heads a and b), trained separately from the model it judges. x: float [B, C, N, N]
// (N >= 16) -> logits {[B, classes_a], [B, classes_b]}.
struct JudgeImpl : torch::nn::Module {
  JudgeImpl(int64_t channels, int64_t classes_a, int64_t classes_b);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear head_a{nullptr}, head_b{nullptr};
};
TORCH_MODULE(Judge);

struct JudgeTraining {
  int epochs = 12;           // passes over the rows
  int64_t batch = 64;        // batch size
  uint64_t seed = 7;         // seeds the shuffles and the shifts
  bool progress = true;      // progress bar on stderr
  std::string label = "judge";  // progress bar label
};

// Trains `judge` (Adam 1e-3, random shifts of up to 2 px) on set.batch_images(rows[i]) with
// cross-entropy of head a against labels_a[i] plus, when labels_b is defined, head b against
// labels_b[i]. rows, labels: int64 [M]. Leaves the judge in eval mode. Throws ShapeError when
// the label counts differ from the rows.
void train_judge(Judge& judge, const ImageSet& set, const torch::Tensor& rows,
                 const torch::Tensor& labels_a, const torch::Tensor& labels_b,
                 const JudgeTraining& options, const torch::Device& device);

struct EvalOptions {
  bool disentangle = true;   // run the generator checks below (needs the training images)
  int probe_steps = 300;     // full-batch Adam steps of each linear probe on f(x)
  int judge_epochs = 12;     // epochs of the independent judge CNN on real training images
  int judge_batch = 64;      // judge batch size
  int64_t max_generated = 512;  // test faces used for the generator checks (seeded subset)
  uint64_t seed = 7;         // seeds the probes, the judge and the random target codes
  bool progress = true;
};

struct EvalResult {
  ClassificationReport expression;       // C_exp expression predictions, grouped by pose
  ClassificationReport pose;             // C_exp pose-head predictions (count 0 without a head)
  nlohmann::json disentanglement;        // see evaluate_disentanglement(); null if not run
  nlohmann::json synthesis;              // see evaluate_synthesis() (synthesis_eval.h); null if not run
  // The same check on the training people: what G fitted (synthesis is what carries over to
  // people it never saw). Null if not run.
  nlohmann::json synthesis_train;
  // The test-time settings the scores were made with ({"tta_flip": [..], "tta_crop": [..]}, one
  // entry per model), null if not recorded.
  nlohmann::json test_time;
  nlohmann::json to_json() const;
  // The report (accuracy tables, disentanglement checks, synthesis sections) titled `title`;
  // evaluate writes it as eval.md and eval.html.
  Document document(const std::string& title) const;
  std::string to_markdown(const std::string& title) const;  // document(title).markdown()
};

// Classifier accuracy of model.cls on `test` (eval mode, no grad); tta_flip averages each
// image's probabilities with its mirror's, tta_crop over its crops (classifier_probabilities).
EvalResult evaluate_classifier(JointModel& model, const ImageSet& test,
                               const std::vector<std::string>& expression_names,
                               const std::vector<std::string>& pose_names, bool tta_flip = false,
                               const std::vector<int64_t>& pose_mirror = {}, double tta_crop = 0);

// The same for an ensemble (ensemble_probabilities, classifier.h): the members' averaged
// probabilities decide each test image. Every member's classifier must be on `device` in eval
// mode. Throws InputError for an empty test set, ShapeError as ensemble_probabilities.
EvalResult evaluate_classifier(const std::vector<ClassifierMember>& members, const torch::Device& device,
                               const ImageSet& test, const std::vector<std::string>& expression_names,
                               const std::vector<std::string>& pose_names);

// Generator checks on (a seeded subset of) the test faces:
//  - pose_swap_change / expression_swap_change: mean |G(x,e,p') - G(x,e,p)| (and likewise for
//    e') in [-1,1] units when only that code changes; reconstruction_l1: mean |G(x,e,p) - x|.
//  - probe_*: a linear (softmax) probe trained on f(x) of the training faces, accuracy on the
//    test faces' f(x). High pose/expression accuracy = those factors leak into the identity code.
//  - judge_*: a small CNN (3 conv + BN + 2 heads, unlike VGG C_exp) trained on the real
//    training images; its accuracy on real test faces, and its target-label accuracy on
//    G(x, e', p') for random targets e', p'.
nlohmann::json evaluate_disentanglement(JointModel& model, const ImageSet& train,
                                        const ImageSet& test, const EvalOptions& options);

}  // namespace posefer
