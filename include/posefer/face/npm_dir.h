#pragma once
// Where scripts/setup.sh installs the npm packages that hold the pretrained weights.
#include <string>

namespace posefer {

// <checkout>/third_party/npm/node_modules, with <checkout> the source folder this library was
// configured from. Only this function's file is compiled with that path, so the rest of the
// library compiles to the same objects in any checkout (a compiler cache can share them).
// Never throws; the folder may not exist (callers report the missing weights file).
std::string npm_modules_dir();

}  // namespace posefer
