#include "posefer/model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>

#include "posefer/core/check.h"

// LibTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define POSEFER_AUTOCAST_BY_DEVICE 1
#else
#define POSEFER_AUTOCAST_BY_DEVICE 0
#endif

namespace posefer {

namespace {

bool autocast_enabled(torch::DeviceType t) {
#if POSEFER_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(t);
#else
  return t == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(torch::DeviceType t, bool on) {
#if POSEFER_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(t, on);
#else
  if (t == torch::kCUDA) {
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_cpu_enabled(on);
  }
#endif
}

at::ScalarType autocast_dtype(torch::DeviceType t) {
#if POSEFER_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(t);
#else
  return t == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(torch::DeviceType t, at::ScalarType dtype) {
#if POSEFER_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(t, dtype);
#else
  if (t == torch::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

PrecisionScope::PrecisionScope(const std::string& precision, const torch::Device& device)
    : device_type_(device.is_cuda() ? torch::kCUDA : torch::kCPU),
      prev_enabled_(autocast_enabled(device_type_)),
      prev_dtype_(autocast_dtype(device_type_)),
      prev_cache_(at::autocast::is_autocast_cache_enabled()) {
  POSEFER_CHECK_CONFIG(precision == "fp32" || precision == "bf16", "precision must be fp32 or bf16, got '",
                       precision, "'");
  const bool on = precision == "bf16";
  set_autocast_enabled(device_type_, on);
  if (on) {
    set_autocast_dtype(device_type_, at::kBFloat16);
    at::autocast::set_autocast_cache_enabled(false);
  }
}

PrecisionScope::~PrecisionScope() {
  set_autocast_enabled(device_type_, prev_enabled_);
  set_autocast_dtype(device_type_, prev_dtype_);
  at::autocast::set_autocast_cache_enabled(prev_cache_);
}

bool cpu_has_native_bf16() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      if (w == "avx512_bf16" || w == "amx_bf16") return true;
    }
    return false;  // every core lists the same flags
  }
  return false;
}

}  // namespace posefer
