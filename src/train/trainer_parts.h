// Helpers the trainer's sources share (trainer.cpp: set-up and the loop; trainer_step.cpp: one
// optimisation step; batch_plan.cpp: what goes into a batch; run_log.cpp: the CSV logs). Internal
// to src/train/: not installed, not for library users.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "posefer/core/splitmix.h"

namespace posefer::trainer_detail {

// Fraction of rows whose argmax is the label (a scalar tensor).
inline torch::Tensor argmax_accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return (logits.argmax(1) == labels).to(torch::kFloat).mean();
}

constexpr uint64_t kStepRngStream = 0;  // the step generator's seed: mix_seed(seed, 0)

// A generator's state, read under its lock.
inline torch::Tensor generator_state(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

// The run's CSV logs (log.csv per step, epochs.csv per epoch), in run_log.cpp.
std::string fmt(double v);  // 6 significant digits
// Keeps the header and the rows whose first column (an integer) is <= max_key, so a resumed
// run does not log steps twice. Rewrites the file atomically.
void truncate_log(const std::string& path, int64_t max_key);
// Appends one row (and the header first when the file is new); throws Error naming the file.
// A file whose header differs (a run resumed by a posefer that logs more or other columns) is
// first rewritten under `header`, columns matched by name, "0" where the old rows have none, so
// every row keeps its values under the right names.
void append_line(const std::string& path, const std::string& header, const std::string& line);

}  // namespace posefer::trainer_detail
