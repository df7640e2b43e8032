// A joint-model config small enough for unit tests (32 px, 1 channel, narrow nets).
#pragma once

#include "posefer/core/config.h"

namespace posefer::test {

inline ModelConfig tiny_model_config(int expressions = 2, int poses = 2) {
  ModelConfig c;
  c.image_size = 32;
  c.channels = 1;
  c.num_expressions = expressions;
  c.num_poses = poses;
  c.gen_width = 0.05;
  c.disc_width = 0.1;
  c.cls_width = 0.05;
  return c;
}

}  // namespace posefer::test
