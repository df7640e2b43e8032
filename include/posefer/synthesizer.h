// Face synthesis with a trained generator: one face at a chosen expression and pose, or the
// whole expression x pose grid of the paper's Fig. 6.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/generator.h"

namespace posefer {

// face: float [C, N, N] in [-1, 1] -> G(face, expression, pose) as float [C, N, N] in [-1, 1].
// Throws ShapeError on a wrong shape, ConfigError on labels out of range.
torch::Tensor synthesize_face(Generator& gen, const torch::Tensor& face, int64_t expression,
                              int64_t pose);

// G(face, e, p) for every pose p (major) and expression e: float [P * E, C, N, N] in [-1, 1],
// image p * E + e. Throws ShapeError on a wrong shape.
torch::Tensor synthesis_faces(Generator& gen, const torch::Tensor& face);

// The grid: P rows (poses) x (1 + E) columns; column 0 holds the input face in row 0 (blank
// below it), columns 1..E the expressions. Returns float [C, H, W] in [-1, 1] with 2-px gaps.
torch::Tensor synthesis_grid(Generator& gen, const torch::Tensor& face);

// Resolves a label given as a name or a 0-based index against `names`. Throws ConfigError
// listing the valid names.
int64_t resolve_label(const std::string& value, const std::vector<std::string>& names,
                      const std::string& what);

}  // namespace posefer
