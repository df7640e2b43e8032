// An 8-bit RGB image in memory: the one picture type of the torch-free core (the renderer draws
// into it, charts and reports paint on it), so modules that only need pixels do not depend on
// the renderer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace posefer {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3 bytes: rows top to bottom, pixels r, g, b

  RgbImage() = default;
  RgbImage(int w, int h, uint8_t fill = 0) : width(w), height(h), pixels(size_t(w) * h * 3, fill) {}
  uint8_t* at(int x, int y) { return pixels.data() + (size_t(y) * width + x) * 3; }
  const uint8_t* at(int x, int y) const { return pixels.data() + (size_t(y) * width + x) * 3; }
};

}  // namespace posefer
