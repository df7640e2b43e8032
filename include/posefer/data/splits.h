// Train / validation / test splits of a Dataset.
//
// Spec strings (as given to `--fold`):
//   "k/K"       subject-independent K-fold cross-validation, fold k (0-based) is the test part;
//               subjects are shuffled with the seed and dealt round-robin into K folds, so no
//               subject is ever in both train and test. Validation is empty.
//               (GENKI-4K has no subject ids, so each image is its own subject; FER2013 likewise.)
//   "official"  the data set's own partition by Sample::group: FER2013 Training -> train,
//               PublicTest -> val, PrivateTest -> test; SFEW Set_1 (1.0 SPI) or Train (2.0) ->
//               train, Set_2 or Val -> test (group names compared case-insensitively without
//               '_', '-' and blanks). InputError for sets without groups or unknown groups.
//   "subjects:F" a seeded subject split with fraction F (0<F<1) of subjects in train (BU-3DFE 80/20).
// Throws ConfigError on a malformed spec or k >= K, K < 2, more folds than subjects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posefer/data/dataset.h"

namespace posefer {

struct Split {
  std::vector<size_t> train;  // indices into Dataset::samples, ascending
  std::vector<size_t> val;
  std::vector<size_t> test;
};

Split make_split(const Dataset& dataset, const std::string& spec, uint64_t seed);

// Moves a seeded `fraction` (0 < fraction < 1) of the subjects of split.train to split.val
// (at least one subject, and at least one left in train), so no subject is in two parts.
// Indices stay ascending. Throws ConfigError on a bad fraction or a non-empty split.val, and
// InputError when the training part has fewer than 2 subjects.
void carve_validation(Split& split, const Dataset& dataset, double fraction, uint64_t seed);

// Keeps at most `max_count` of `indices`, chosen uniformly with the seed (order preserved).
// max_count <= 0 keeps all.
std::vector<size_t> subsample(const std::vector<size_t>& indices, int64_t max_count, uint64_t seed);

}  // namespace posefer
