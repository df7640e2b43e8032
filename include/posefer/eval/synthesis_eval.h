// Synthesis quality measured against ground truth.
//
// Rendered face sets (make-faces), BU-3DFE renders and Multi-PIE hold the same person at many
// expression x pose combinations, so G(x, e, p) of a test face x can be compared with the true
// image of that person at (e, p) instead of only being looked at (issue: embedded default).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

#include "posefer/report/document.h"
#include "posefer/data/dataset.h"
#include "posefer/data/image_cache.h"
#include "posefer/model/joint_model.h"

namespace posefer {

// Structural similarity (Wang et al. 2004: Gaussian window 11 x 11, sigma 1.5, K1 = 0.01,
// K2 = 0.03, valid region only) of images in [-1, 1], computed on the [0, 1] scale per channel
// and averaged over channels and pixels. a, b: float [B, C, H, W] (H, W >= 11), same shape.
// Returns float [B]: 1 for identical images. Throws ShapeError on mismatched or too small shapes.
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b);

// Checkerboard texture: the share of each image's spectral energy (2-D DFT of every channel, mean
// removed) that lies at the period-2 frequencies, i.e. in the DFT row H/2 or the column W/2. The
// uneven overlap of stride-2 transposed convolutions puts energy there; photos have little (a
// smooth face well under 1%). x: float [B, C, H, W] with even H, W >= 2. Returns double [B] in
// [0, 1]: 1 for a pure +-1 checkerboard, 0 for a constant image. Throws ShapeError otherwise.
torch::Tensor checkerboard_energy(const torch::Tensor& x);

struct SynthesisEvalOptions {
  int64_t max_inputs = 48;  // test faces used as inputs (seeded subset; 0 = all)
  uint64_t seed = 7;        // seeds the subset and the identity judge
  int identity_judge_epochs = 30;  // epochs of the independent identity judge (0 = off)
  bool progress = true;
};

// For each input face x (subject s, labels e0, p0; seeded subset of `test`) and every target
// (e, p) != (e0, p0) for which `test` holds an image of s at (e, p): G(x, e, p) against that
// image (new expressions and views only; reconstruction is measured elsewhere). Returns JSON with
//   inputs, pairs, subjects         counts
//   l1, ssim                        mean L1 (pixel units in [0, 1]) and SSIM of G vs the truth
//   copy_l1, copy_ssim              the same with x itself as the prediction: what a generator
//                                   that ignored the codes would score
//   by_pose, by_expression          {name: {pairs, l1, ssim}} over the targets
//   identity_accuracy               f(G(x, e, p)) nearest (cosine) to the mean f of the right
//                                   test subject's real faces, among all test subjects
//   identity_accuracy_real          the same for the real test faces (the ceiling)
//   identity_chance                 1 / subjects
//   identity_judge_accuracy         an independent CNN (evaluator.h Judge, not G's encoder)
//                                   trained to tell the test people apart on every other real
//                                   image of each: how often it names the input's person on
//                                   G(x, e, p) (null when off or fewer than 2 subjects)
//   identity_judge_real             the same judge on the real images it did not see (ceiling)
//   expression_match                share of pairs whose true image is strictly nearer (mean
//                                   |difference|) to G(x, e, p) than to G(x, e', p) for every other
//                                   expression e': does the expression code move the face towards
//                                   the right expression, however small the change? Chance 1/E; a
//                                   generator that ignores the code scores 0 (ties are misses)
//   pose_match                      the same over poses: G(x, e, p) against every G(x, e, p')
//   expression_match_chance, pose_match_chance   1/E and 1/P
//   checkerboard_energy             mean checkerboard_energy of G(x, e, p) over the pairs
//   checkerboard_energy_real        the same for the true images (what a photo has)
//   by_pose, by_expression          also hold "match": pose_match per target pose and
//                                   expression_match per target expression
// `dataset` must be the set `test` was built from (subjects come from test.sample_index).
// Throws InputError when no input has any ground-truth target (e.g. one image per subject).
nlohmann::json evaluate_synthesis(JointModel& model, const ImageSet& test, const Dataset& dataset,
                                  const SynthesisEvalOptions& options = {});

// Whether candidates[index] is strictly nearer to `target` (mean absolute difference) than every
// other candidate; a tie is a miss. candidates: [K, C, H, W], target: [C, H, W]. Throws ShapeError
// on other shapes or an index outside [0, K).
bool strictly_nearest(const torch::Tensor& candidates, const torch::Tensor& target, int64_t index);

// Adds the section "Synthesis against ground truth" (level 3, with ": <who> people" unless who is
// "test") for evaluate_synthesis's JSON to `doc`; `who` names the people ("test", "training").
void add_synthesis_section(Document& doc, const nlohmann::json& result, const std::string& who = "test");

// That section alone as Markdown.
std::string synthesis_markdown(const nlohmann::json& result, const std::string& who = "test");

// The paper's Fig. 6 for one test person, as a PNG: input x | G(x, e, p) for every pose (rows) x
// expression (columns) | the person's true test images in the same layout (white where the set
// has none). x is the person's neutral (else first) expression at the most frontal pose (smallest
// mean |yaw| + |pitch|; the first pose when yaw is unknown), else any of their images. Writes
// out_dir/synthesis_<subject>.png and returns that file name. Throws InputError when `subject`
// has no test image.
std::string write_synthesis_sheet(JointModel& model, const ImageSet& test, const Dataset& dataset,
                                  const std::string& subject, const std::string& out_dir);

}  // namespace posefer
