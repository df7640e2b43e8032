#include "posefer/face/npm_dir.h"

#include <filesystem>

namespace posefer {

std::string npm_modules_dir() {
  return (std::filesystem::path(POSEFER_SOURCE_DIR) / "third_party" / "npm" / "node_modules")
      .string();
}

}  // namespace posefer
