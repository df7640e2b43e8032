// libFuzzer target: the image decode wrapper (image_io.h read_image) on arbitrary file bytes:
// unreadable images must end in InputError naming the file, never a crash or a huge allocation.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("posefer_fuzz_image_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  // The extension picks the wrapper's checks (e.g. the JPEG end marker); the first byte picks it.
  const char* ext = size > 0 && (data[0] & 1) ? ".jpg" : ".png";
  const std::string path = dir + "/x" + ext;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  try {
    const auto img = posefer::read_image(path, 3);
    if (img.dim() != 3 || img.size(0) != 3) __builtin_trap();
  } catch (const posefer::InputError&) {
  }
  return 0;
}
