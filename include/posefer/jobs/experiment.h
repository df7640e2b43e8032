// The paper's protocols (§4) as one job each: the trainings a protocol needs, then its report.
// Every run lives in its own folder under `out`; a run whose eval.json exists is not recomputed
// and one holding checkpoint.pt resumes, so an interrupted experiment continues where it stopped.
//
// Protocols (ExperimentJob::protocol):
//   multipie-5fold  K-fold subject-independent cross-validation (K = folds; the paper: 5 on
//                   Multi-PIE's 5 poses x 6 expressions; any data set with several photos per
//                   person). Per fold f: the joint model with k generated faces per real one
//                   (fold<f>/) and the classifier on real faces only (fold<f>_k0/). Tables are
//                   means over the folds.
//   bu3dfe-35       one seeded subject split with train_fraction of the people in training (the
//                   paper: 80/20 on BU-3DFE's 35 views x 6 expressions): joint/ and k0/.
//   kn-curve        the paper's Fig. 5: fold 0 of K for each k in ks (k = 0: real faces only),
//                   in k<k>/.
//   unseen-poses    does G's synthesis at poses C_exp never saw help? Fold 0 of K, for `seeds`
//                   training seeds (base seed, +1, ...): C_exp's real faces only at the poses
//                   base.config.cls_train_poses names (e.g. CMU "straight"), G trained on every
//                   pose of the training people and its k generated faces at every pose
//                   (seed<s>/), against the same C_exp on those real faces alone
//                   (seed<s>_k0/); no epoch selection (no real face at an unseen pose is used
//                   for any choice); the test covers every pose of the held-out people. Tables
//                   are means over the seeds; summary.json's "unseen_poses" holds the accuracy
//                   on the unseen poses (mean, sd) and the paired gain per seed.
//   cross-dataset   the joint model on data set A (a/, split as given by base.config.data.fold),
//                   k generated faces per training image of B by A's generator (augment/, see
//                   augment.h), then B's classifier on real faces (b_real/) and on real +
//                   generated faces (b_augmented/), both selected on B's validation part and
//                   tested on its test part (split "official": FER2013 Training -> PublicTest ->
//                   PrivateTest, as SFEW Set 1 -> Set 2 in the paper).
//
// Report files in `out`: report.md and report.html (linking everything), summary.json,
// per_pose.csv (Table 2: accuracy per pose for each configuration), pose_expression.csv
// (Table 3: pose x expression of the main configuration), per_class.csv (Table 5),
// confusion.csv and confusion.png (Fig. 4), kn_curve.csv and kn_curve.png (kn-curve, Fig. 5),
// synthesis_<person>.png (Fig. 6), and the peer's row (face-api's FaceExpressionNet on the same
// test images, peer_baseline.h) when its weights are installed.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "posefer/metrics/metrics.h"
#include "posefer/jobs/pipeline.h"
#include "posefer/report/plot.h"

namespace posefer {

// Accuracy over the test faces whose pose (report group) is not in `train_poses` (comma-separated
// names): the group accuracies weighted by their counts; NaN when no such face was tested.
double unseen_pose_accuracy(const ClassificationReport& report, const std::string& train_poses);

// The protocol names above, in that order.
const std::vector<std::string>& experiment_protocols();

struct ExperimentJob {
  std::string protocol;          // one of experiment_protocols()
  TrainJob base;                 // data (A), model, schedule and evaluation of every run;
                                 // base.config.gen_k is the k of the joint runs
  std::string data_b;            // cross-dataset: B's "<kind>:<path>" (split "official")
  int64_t max_train_b = 0;       // cross-dataset: at most this many B training images (0 = all)
  std::string out;               // experiment folder
  int folds = 5;                 // multipie-5fold, kn-curve and unseen-poses: K
  int seeds = 3;                 // unseen-poses: training seeds per configuration
  double train_fraction = 0.8;   // bu3dfe-35: share of people in training
  std::vector<int> ks{0, 1, 5, 10, 15, 20};  // kn-curve: the k values
  bool peer = true;              // add face-api's row when its weights are installed
  int grid_subjects = 2;         // test people shown as synthesis sheets
  PlotConfig plot;               // who draws confusion.png and kn_curve.png (gnuplot or built-in)
};

// One configuration's test results (a row of the tables).
struct ExperimentRow {
  std::string name;              // e.g. "real + generated (k = 1)"
  ClassificationReport report;   // mean over folds for the cross-validation protocols
  std::vector<double> fold_accuracy;  // per fold (unseen-poses: per seed; one value without either)
};

struct ExperimentResult {
  std::vector<ExperimentRow> rows;  // ours first (main configuration first), the peer last
  bool interrupted = false;         // a run stopped (SIGINT); rerun to continue
  std::string report;               // path of report.md ("" when interrupted)
};

// Throws ConfigError for an unknown protocol or bad settings; errors of a run carry the run's
// folder as context.
ExperimentResult run_experiment(const ExperimentJob& job, const TrainHooks& hooks = {});

}  // namespace posefer
