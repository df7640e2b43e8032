// Mixed precision of training steps (TrainConfig::precision).
//
// "fp32": every op in float32 (the default; results are reproducible bit for bit).
// "bf16": LibTorch's autocast runs the convolutions, linear layers and matrix products of the
//   nets in bfloat16 (8-bit mantissa); weights, gradients, optimiser state, batch-norm
//   statistics and the losses (losses.h upcasts) stay float32. On CPUs with AVX512-BF16 or AMX
//   a step is 1.0-1.55x faster, the larger the convolutions the more (bench/README.md); on
//   validation people it cost 0.64 ± 0.95 points (docs/presets.md). Evaluation and inference
//   always run in float32.
#pragma once

#include <torch/torch.h>

#include <string>

namespace posefer {

// While alive, the calling thread's autocast for `device` (cpu or cuda) follows `precision`:
// "bf16" switches it on with dtype bfloat16 and without the cast cache (a training step updates
// weights between forward passes; a cached bfloat16 copy would be stale); "fp32" switches it
// off. The destructor restores the previous state (enabled, dtype, cache), so nothing outside
// the scope sees a change. Throws ConfigError for any other precision.
class PrecisionScope {
 public:
  PrecisionScope(const std::string& precision, const torch::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  torch::DeviceType device_type_;
  bool prev_enabled_;
  at::ScalarType prev_dtype_;
  bool prev_cache_;
};

// Whether this CPU computes bfloat16 in hardware (flag avx512_bf16 or amx_bf16 in
// /proc/cpuinfo). Without, oneDNN emulates bfloat16 and "bf16" runs slower than "fp32".
bool cpu_has_native_bf16();

}  // namespace posefer
