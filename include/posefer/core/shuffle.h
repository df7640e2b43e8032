// The one shuffle posefer uses (splits, training epochs, the judge's epochs): Fisher-Yates driven
// by a std::mt19937_64 the caller owns. std::shuffle's output differs between standard
// libraries; this one gives the same order from the same seed everywhere, so splits and runs
// reproduce.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace posefer {

// Shuffles v in place: for i = n-1 .. 1, swap v[i] with v[rng() % (i + 1)] (bias ~ i / 2^64,
// negligible). Advances rng by n - 1 draws.
template <class T>
void seeded_shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

// 0 .. n-1 in seeded_shuffle's order.
inline std::vector<int64_t> shuffled_indices(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> perm(static_cast<size_t>(n > 0 ? n : 0));
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  seeded_shuffle(perm, rng);
  return perm;
}

}  // namespace posefer
