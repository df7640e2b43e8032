// Generated training faces for another data set (the paper's cross-data-set protocol, §4.3.2):
// a joint model trained on data set A synthesises, for each training image x of data set B, k
// faces G_A(x, e, p) at random targets (e, p) among A's expressions and poses, each labelled with
// B's expression class of the same canonical name (labels.h). A's expressions without a match in
// B are never drawn. Pose labels: A's pose name where B has a pose of that name, else the source
// image's own pose (B's poses are then not A's: train B's classifier with --pose-cls 0 or
// --no-pose-head).
//
// Output folder: images/gNNNNNNN.png (one per generated face) and manifest.csv
// (path,subject,expression,pose,source,target_expression,target_pose), ready for
// `posefer train --extra-train manifest:<out>/manifest.csv`. The manifest and augment.json are
// written last, atomically; a folder whose augment.json matches the job is reused as it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posefer/core/config.h"

namespace posefer {

struct AugmentJob {
  std::string checkpoint;  // A's trained joint model (checkpoint file or run directory)
  DataConfig data;         // B: its training part (after max_train) is the source of the faces
  int k = 1;               // generated faces per source image (>= 1)
  std::string out;         // output folder
  uint64_t seed = 1;       // seed of the random targets
  int batch = 64;          // faces per generator call
  int threads = 0;         // intra-op threads (0 = cores)
  bool progress = true;
};

struct AugmentResult {
  int64_t sources = 0;                // B training images used
  int64_t generated = 0;              // faces written (sources * k)
  bool reused = false;                // the folder already held this job's output
  std::vector<std::string> mapping;   // "A class -> B class" (or "-> (none)") per A expression
  std::string manifest;               // path of manifest.csv
  double seconds = 0;
};

// Throws ConfigError when no A expression maps onto B, or when the image sizes/channels cannot
// match; InputError (with the checkpoint or data spec as context) for unreadable inputs.
AugmentResult run_augment_job(const AugmentJob& job);

}  // namespace posefer
