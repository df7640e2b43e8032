// Training fixtures shared by the trainer tests: a tiny TrainConfig, synthetic "faces", an
// in-memory image set, and a comparison of every net's parameters and buffers.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "posefer/core/config.h"
#include "posefer/data/image_cache.h"
#include "posefer/model/joint_model.h"

namespace posefer::test {

// Tiny nets on one intra-op thread (a second thread only adds synchronisation, made the trainer
// suite 20x slower on a loaded 2-core machine, and forked ranks must not inherit an OpenMP pool),
// with info logging silenced; both restored afterwards.
class QuietSingleThreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = torch::get_num_threads();
    torch::set_num_threads(1);
    spdlog::set_level(spdlog::level::warn);
  }
  void TearDown() override {
    torch::set_num_threads(threads_);
    spdlog::set_level(spdlog::level::info);
  }
  int threads_ = 1;
};

// A model of a few thousand parameters per net: a step takes milliseconds. 3 expressions, 2 poses.
inline TrainConfig tiny_train_config() {
  TrainConfig c;
  c.model.image_size = 32;
  c.model.channels = 1;
  c.model.num_expressions = 3;
  c.model.num_poses = 2;
  c.model.id_dim = 16;
  c.model.gen_width = 0.125;
  c.model.disc_width = 0.25;
  c.model.cls_width = 0.0625;
  c.batch_size = 4;
  c.epochs = 2;
  c.gen_k = 1;
  c.gen_warmup = 1;
  c.loss.cls_feedback_warmup = 1;
  c.checkpoint_every = 1;
  c.seed = 7;
  c.device = "cpu";
  c.progress = false;
  return c;
}

// m smooth "faces" in [-1, 1]: a bright Gaussian blob with two dark "eyes" on a dark
// background, position and size drawn from `seed`. float [m, 1, n, n].
inline torch::Tensor blob_faces(int64_t m, int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto u = [&](int64_t k) { return at::rand({k, 1, 1, 1}, gen); };
  const auto grid = torch::arange(n, torch::kFloat) / static_cast<double>(n - 1);
  const auto yy = grid.view({1, 1, n, 1}), xx = grid.view({1, 1, 1, n});
  const auto cx = 0.4 + 0.2 * u(m), cy = 0.4 + 0.2 * u(m), s = 0.15 + 0.1 * u(m);
  auto blob = [&](const torch::Tensor& x0, const torch::Tensor& y0, const torch::Tensor& sigma) {
    return torch::exp(-((xx - x0).pow(2) + (yy - y0).pow(2)) / (2 * sigma.pow(2)));
  };
  auto face = blob(cx, cy, s) - 0.6 * blob(cx - 0.4 * s, cy - 0.3 * s, 0.15 * s) -
              0.6 * blob(cx + 0.4 * s, cy - 0.3 * s, 0.15 * s);
  return (face.clamp(0, 1) * 1.8 - 0.9).contiguous();
}

// m 32x32 blob faces as uint8, expressions i % 3, poses (i / 3) % 2, people i / 4.
inline ImageSet make_image_set(int64_t m, uint64_t seed) {
  ImageSet set;
  set.images = ((blob_faces(m, 32, seed) + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8);
  set.expression = torch::arange(m, torch::kInt64) % 3;
  set.pose = (torch::arange(m, torch::kInt64) / 3) % 2;
  // Four photos per person: the cross-reconstruction partners are drawn too (resume, ranks).
  set.subject = torch::arange(m, torch::kInt64) / 4;
  for (int64_t i = 0; i < m; ++i) set.sample_index.push_back(static_cast<size_t>(i));
  return set;
}

// Every parameter (and buffer, with `buffers`) of the four nets agree: bit for bit (tol = 0) or
// within `tol` (max absolute difference). Returns the largest difference seen.
inline double expect_same_nets(JointModel& a, JointModel& b, double tol, bool with_buffers = true) {
  double worst = 0;
  const auto na = a.nets(), nb = b.nets();
  for (size_t k = 0; k < na.size(); ++k) {
    for (const bool buffers : {false, true}) {
      if (buffers && !with_buffers) continue;
      const auto ta = buffers ? na[k]->named_buffers() : na[k]->named_parameters();
      const auto tb = buffers ? nb[k]->named_buffers() : nb[k]->named_parameters();
      EXPECT_EQ(ta.size(), tb.size());
      for (size_t i = 0; i < std::min(ta.size(), tb.size()); ++i) {
        const auto& x = ta[i].value();
        const auto& y = tb[i].value();
        if (tol == 0) {
          EXPECT_TRUE(torch::equal(x, y)) << na[k]->name() << " " << ta[i].key();
          continue;
        }
        const double d = (x.to(torch::kDouble) - y.to(torch::kDouble)).abs().max().item<double>();
        worst = std::max(worst, d);
        EXPECT_LE(d, tol) << na[k]->name() << " " << ta[i].key();
      }
    }
  }
  return worst;
}

}  // namespace posefer::test
