// libFuzzer target: the tfjs graph-model reader (tfjs_graph_model.h) on an arbitrary model.json
// (the weights file it names is absent or garbage): errors must be posefer::Error.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "posefer/core/check.h"
#include "posefer/face/tfjs_graph_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("posefer_fuzz_tfjs_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "model.bin", std::ios::binary) << std::string(4096, '\x01');
    return d.string();
  }();
  const std::string path = dir + "/model.json";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  try {
    posefer::load_tfjs_graph_model(path);
  } catch (const posefer::Error&) {
  }
  return 0;
}
