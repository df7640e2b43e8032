#include "posefer/io/center_square.h"

#include <algorithm>
#include <cmath>

namespace posefer {

CenterSquare center_square(int height, int width, double fraction) {
  const int side0 = std::min(height, width);
  CenterSquare s;
  s.side = std::clamp(static_cast<int>(std::lround(side0 * fraction)), 1, side0);
  s.x = (width - s.side) / 2;
  s.y = (height - s.side) / 2;
  return s;
}

}  // namespace posefer
