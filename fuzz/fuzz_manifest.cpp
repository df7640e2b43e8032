// libFuzzer target: the manifest reader (dataset.h, read via load_dataset "manifest:<csv>") on
// arbitrary file contents. Bad input must end in posefer::Error, never a crash.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "posefer/core/check.h"
#include "posefer/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("posefer_fuzz_manifest_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  const std::string path = dir + "/m.csv";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  try {
    posefer::load_dataset(posefer::parse_data_spec("manifest:" + path));
  } catch (const posefer::Error&) {
  }
  return 0;
}
