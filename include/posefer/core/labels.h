// Label codes fed to G_dec and D_att: signed one-hot vectors (+1 at the label, -1 elsewhere,
// as in the authors' code), optionally tiled to give a code weight comparable to f(x); or, for
// G_dec with g_codes "onehot", 0/1 vectors as the paper prints them.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace posefer {

// labels: int64 [B] in [0, n) -> float [B, n] with +1 at the label, -1 elsewhere.
// Throws ShapeError for a non-1-D tensor or labels out of range.
torch::Tensor signed_one_hot(const torch::Tensor& labels, int64_t n);

// labels: int64 [B] in [0, n) -> float [B, n] with 1 at the label, 0 elsewhere (the paper's
// codes as printed). Throws ShapeError as signed_one_hot does.
torch::Tensor unsigned_one_hot(const torch::Tensor& labels, int64_t n);

// code [B, n] -> [B, n * times]: the whole code repeated `times` times (times >= 1).
torch::Tensor tile_code(const torch::Tensor& code, int64_t times);

// Uniformly random labels in [0, n): int64 [count] (uses torch's default generator).
torch::Tensor random_labels(int64_t count, int64_t n, const torch::Device& device);

// The common name of an expression class across data sets: lower case, with synonyms folded
// (happiness/smile -> happy, sadness -> sad, anger -> angry, fearful/afraid -> fear,
// disgusted -> disgust, surprised -> surprise, contemptuous -> contempt). Other names come back
// lower-cased.
std::string canonical_expression(const std::string& name);

// Mirror map of pose classes for flip augmentation: entry i is the pose that a left-right
// mirrored photo of pose i shows. spec "auto": yaw bins symmetric about 0 (GENKI's
// "yaw[-45,-15)", ...) pair bin i with bin P-1-i; otherwise names that become each other when
// "left" and "right" are swapped (CMU's left / right) form pairs, every other pose is its own mirror;
// "a:b,c:d": these pairs swap, every other pose is its own mirror. Throws ConfigError naming an
// unknown pose, a pose in two pairs or a malformed pair.
std::vector<int64_t> pose_mirror(const std::string& spec, const std::vector<std::string>& names);

// For each class of `from`, the index of the class of `to` with the same canonical name, or -1.
std::vector<int> map_expressions(const std::vector<std::string>& from, const std::vector<std::string>& to);

}  // namespace posefer
