// splitmix64 (Steele, Lea & Flood 2014): the one small portable generator posefer uses where a
// result must be the same on every platform and LibTorch version (the parametric faces'
// identities) or where seeds must be decorrelated (the trainer's streams). std::mt19937_64 is
// used for shuffles; LibTorch's generators for tensors.
#pragma once

#include <cstdint>

namespace posefer {

// splitmix64's output function: a bijective mix of 64 bits.
inline uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ULL;

// A decorrelated seed for stream `stream` of run seed `seed`.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  return splitmix64_mix(seed + kSplitMix64Gamma * (stream + 1));
}

// The generator: state advanced by the golden gamma, each output mixed.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() { return splitmix64_mix(state += kSplitMix64Gamma); }
  // Uniform in [lo, hi) from the top 53 bits.
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * float(double(next() >> 11) * (1.0 / 9007199254740992.0));
  }
  int below(int n) { return int(next() % uint64_t(n)); }  // in [0, n), n > 0
};

}  // namespace posefer
