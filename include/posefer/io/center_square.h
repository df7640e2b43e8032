#pragma once
// The centred square a centre crop takes (CropMode::kCenter in image_io.h): one definition, so
// the crop of an image and the box recorded for it (dataset_align.h's centre fallback) agree.

namespace posefer {

struct CenterSquare {
  int x = 0, y = 0;  // top-left corner in image pixels
  int side = 0;      // side in pixels, in [1, min(height, width)]
};

// The square of side round(min(height, width) * fraction), clamped to [1, min], centred (the
// extra pixel of an odd margin goes right / down). Expects height, width >= 1 and fraction in
// (0, 1] (callers check it).
CenterSquare center_square(int height, int width, double fraction);

}  // namespace posefer
