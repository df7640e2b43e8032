// The jobs behind the CLI subcommands, callable from any front-end: train (with resume and an
// optional evaluation at the end), evaluate a checkpoint, synthesise faces.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "posefer/core/config.h"
#include "posefer/train/checkpoint.h"
#include "posefer/parallel/distributed.h"
#include "posefer/eval/evaluator.h"
#include "posefer/train/trainer.h"

namespace posefer {

// Sets LibTorch's intra-op threads: n > 0 as given, 0 = number of cores (LibTorch 1.13
// otherwise defaults to 1 thread on some builds). Throws ConfigError for n above the core count
// (oversubscribed OpenMP threads made a step 100x slower).
void set_threads(int n);

struct TrainJob {
  TrainConfig config;            // data, model (E, P, C are filled from the data), schedule
  std::string run_dir;           // where config.json, logs and checkpoint.pt go (required)
  bool resume = false;           // continue from run_dir/checkpoint.pt with its stored config
  int resume_epochs = 0;         // with resume: the run's new length (0 = the stored one)
  int resume_cls_cycle = -1;     // with resume: C_exp's new cosine cycle (-1 = the stored one)
  // With resume: a run written by an older posefer whose stored config lacks fields continues
  // with today's defaults for them (each logged). Without it such a resume is refused.
  bool migrate = false;
  int channels = 0;              // image channels: 0 = the data set's native count
  bool evaluate = true;          // evaluate on the test part at the end: eval.json, eval.md
  EvalOptions eval;              // evaluation settings
  // Data-parallel training (trainer.h): this process's rank of the group; null = one process.
  // Rank 0 prepares the data first (the others wait), writes split.json, the run's files and
  // the evaluation; the others only train. threads = 0 means cores / W threads per process.
  std::shared_ptr<DistContext> dist;
};

struct TrainJobResult {
  TrainResult train;
  bool evaluated = false;
  EvalResult eval;
};

// Throws InputError / ConfigError with context; interruption (hooks) is not an error.
// With job.resume the run's stored config is used; only resume_epochs, resume_cls_cycle, threads,
// progress and checkpoint_minutes come from job (the CLI refuses flags that would change the model
// or data). A new length or cycle must leave the learning rates of the epochs already trained as they
// were (a cosine run extended past its end needs a cycle: a warm restart), else ConfigError.
TrainJobResult run_train_job(TrainJob job, const TrainHooks& hooks = {});

// A trained model loaded from a checkpoint, with the config and label names it was trained with.
struct LoadedModel {
  TrainConfig config;
  std::unique_ptr<JointModel> model;  // in eval mode
  TrainState state;
  std::string path;                   // the checkpoint file it came from
  // Further trained runs whose classifiers vote with this one's (load_trained_models): their
  // probabilities are averaged with model->cls's. Empty for a single model.
  std::vector<std::unique_ptr<LoadedModel>> ensemble;
};

// Loads a checkpoint file or run directory. Throws InputError with the path as context.
LoadedModel load_trained_model(const std::string& checkpoint);

// Loads checkpoints[0] with checkpoints[1..] as its ensemble. The members must prepare and
// label faces alike: the same expression and pose names, image size, channels and face
// preparation (data align / crop settings); their backbones and seeds may differ. Throws
// ConfigError naming the member and the setting that differs, ConfigError for an empty list.
LoadedModel load_trained_models(const std::vector<std::string>& checkpoints);
// The same for `first` with `more` as its ensemble (the jobs' checkpoint + ensemble fields).
LoadedModel load_trained_models(const std::string& first, const std::vector<std::string>& more);

// Whether `lm` votes on poses: its own and every ensemble member's classifier has a pose head.
bool votes_on_pose(const LoadedModel& lm);

// The classifiers that decide for `lm`: its own and its ensemble's, each with the test-time flip,
// crops and pose mirror its run was trained with (ensemble_probabilities, classifier.h).
std::vector<ClassifierMember> classifier_members(LoadedModel& lm);

// Sets the test-time crops (TrainConfig::tta_crop) of `lm` and of every ensemble member to f;
// f < 0 leaves each as trained. Throws ConfigError for f > 0.5.
void override_tta_crop(LoadedModel& lm, double f);

struct EvaluateJob {
  std::string checkpoint;        // checkpoint file, or a run directory (resolve_checkpoint_path)
  // Further runs voting with `checkpoint` (load_trained_models): their probabilities are
  // averaged. The data and split are checkpoint's.
  std::vector<std::string> ensemble;
  std::string data;              // override the stored data spec ("" = as trained)
  std::string fold;              // override the stored split ("" = as trained)
  // Which part is scored: "test", or "val" (the validation part a run selects its epoch on,
  // e.g. FER2013's PublicTest or a fold's validation people), to compare models without
  // touching the test part.
  std::string part = "test";
  // Where eval.json / eval.md go ("" = <run dir>/eval, with "_val" for the validation part
  // and "_ensemble" for an ensemble).
  std::string out_dir;
  // Test-time crops for every model (TrainConfig::tta_crop; -1 = each run's own setting). Set,
  // the default out_dir gains "_crop<f>", so the run's own evaluation is kept.
  double tta_crop = -1;
  EvalOptions eval;
  bool synthesis = false;        // also compare G's faces with ground-truth images (synthesis_eval.h)
  int64_t synthesis_inputs = 48; // test faces used as inputs for that comparison (0 = all)
  int threads = 0;
};

EvalResult run_evaluate_job(const EvaluateJob& job);

struct SynthesizeJob {
  std::string checkpoint;        // checkpoint file or run directory
  std::string image;             // input face image
  std::string out;               // output PNG
  std::string expression;        // name or index; with pose: one face instead of the grid
  std::string pose;
  bool labels = true;            // grid: pose names on the rows, expression names on the columns
  // Labelled grid: add a panel of |G(x, e, p) - G(x, neutral, p)| times this gain (0 = none).
  double changes = 0;
  int zoom = 1;                  // enlarge every face by this integer factor (nearest neighbour)
  int threads = 0;
};

// Writes the PNG (atomically) and returns its size as {width, height}: one face, the labelled
// sheet (input | G(x, e, p) with row and column names [| change maps]) or, without labels, the
// bare synthesis_grid. Throws ConfigError when `changes` is asked for without the labelled grid,
// or on a negative gain or a zoom outside [1, 16].
std::pair<int, int> run_synthesize_job(const SynthesizeJob& job);

// The model a run directory stands for: "runs/x" -> "runs/x/best.pt" when the run selected its
// epoch on validation (select_on_val in its config) and best.pt exists, else
// "runs/x/checkpoint.pt" (the last epoch); a file path is returned unchanged. evaluate, classify,
// synthesize and augment all load this, the same model train evaluated.
std::string resolve_checkpoint_path(const std::string& path);

}  // namespace posefer
