// Face synthesis with a trained generator: one face at a chosen expression and pose, or the
// whole expression x pose grid of the paper's Fig. 6.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/model/generator.h"

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

// What each expression changes: |faces[p * E + e] - faces[p * E + reference]| (in [0, 1] pixel
// units, averaged over channels) times `gain`, clipped at 1, as grey images in [-1, 1]
// (-1 = black = unchanged). faces: [P * E, C, N, N] in [-1, 1], synthesis_faces's layout.
// Returns [P * E, 1, N, N]; the reference column is black. Expression changes on real data can
// be a few grey levels around the mouth, too little to see in the faces themselves.
// Throws ShapeError when faces is not [P * E, C, N, N], ConfigError on a reference outside
// [0, E) or a gain <= 0.
torch::Tensor change_maps(const torch::Tensor& faces, int64_t expressions, int64_t reference, double gain);

// Index of "neutral" in `names`, else 0: the column other expressions are compared with.
int64_t reference_expression(const std::vector<std::string>& names);

// Nearest-neighbour enlargement of images [B, C, H, W] by an integer factor in [1, 16] (pixels
// stay as the network drew them). Throws ConfigError on another factor.
torch::Tensor zoom_images(const torch::Tensor& images, int64_t factor);

// Resolves a label given as a name or a 0-based index against `names`. Throws ConfigError
// listing the valid names.
int64_t resolve_label(const std::string& value, const std::vector<std::string>& names,
                      const std::string& what);

}  // namespace posefer
