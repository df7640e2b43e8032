#include "posefer/eval/synthesizer.h"

#include <gtest/gtest.h>

#include "posefer/core/check.h"
#include "model_test_util.h"
#include "test_support.h"

namespace posefer {
namespace {

ModelConfig tiny() { return test::tiny_model_config(3, 2); }

TEST(Synthesizer, GridHasPoseRowsAndInputColumn) {
  torch::manual_seed(0);
  Generator gen(tiny());
  init_weights(*gen, "he");
  auto face = torch::rand({1, 32, 32}) * 2 - 1;
  auto grid = synthesis_grid(gen, face);
  // 2 rows x (1 + 3) columns of 32 px with 2-px gaps.
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{1, 2 * 32 + 2, 4 * 32 + 3 * 2}));
  // Column 0, row 0 is the input itself; row 1 of column 0 is blank (white).
  EXPECT_TRUE(torch::allclose(grid.narrow(1, 0, 32).narrow(2, 0, 32), face));
  EXPECT_TRUE(torch::all(grid.narrow(1, 34, 32).narrow(2, 0, 32) == 1.f).item<bool>());
  // Tile (pose 1, expression 2) equals a direct synthesis of that face.
  auto direct = synthesize_face(gen, face, 2, 1);
  auto tile = grid.narrow(1, 34, 32).narrow(2, 3 * 34, 32);
  EXPECT_TRUE(torch::allclose(tile, direct, 1e-5, 1e-5));
}

TEST(Synthesizer, FacesArePoseMajor) {
  torch::manual_seed(3);
  Generator gen(tiny());
  init_weights(*gen, "he");
  auto face = torch::rand({1, 32, 32}) * 2 - 1;
  auto faces = synthesis_faces(gen, face);
  const auto& c = gen->encoder->config;
  ASSERT_EQ(faces.sizes(), (std::vector<int64_t>{c.num_poses * c.num_expressions, 1, 32, 32}));
  for (int64_t p = 0; p < c.num_poses; ++p)
    for (int64_t e = 0; e < c.num_expressions; ++e)
      EXPECT_TRUE(torch::allclose(faces[p * c.num_expressions + e], synthesize_face(gen, face, e, p), 1e-5, 1e-5))
          << "pose " << p << " expression " << e;
  // Different codes give different faces (the test would pass trivially on a constant G).
  EXPECT_GT((faces[0] - faces[c.num_expressions * c.num_poses - 1]).abs().max().item<float>(), 1e-6);
  EXPECT_THROW_MSG(synthesis_faces(gen, torch::zeros({3, 32, 32})), ShapeError, "expected a face");
}

TEST(Synthesizer, RejectsBadShapesAndLabels) {
  Generator gen(tiny());
  EXPECT_THROW_MSG(synthesize_face(gen, torch::zeros({3, 32, 32}), 0, 0), ShapeError, "expected a face [1, 32, 32]");
  EXPECT_THROW_MSG(synthesize_face(gen, torch::zeros({1, 32, 32}), 3, 0), ConfigError, "out of range");
}

TEST(Synthesizer, ResolvesLabelsByNameOrIndex) {
  const std::vector<std::string> names{"neutral", "happy", "sad"};
  EXPECT_EQ(resolve_label("happy", names, "expression"), 1);
  EXPECT_EQ(resolve_label("2", names, "expression"), 2);
  EXPECT_THROW_MSG(resolve_label("3", names, "expression"), ConfigError, "unknown expression '3'");
  EXPECT_THROW_MSG(resolve_label("joy", names, "expression"), ConfigError, "valid: neutral, happy, sad");
}

TEST(Synthesizer, ChangeMapsKnownValues) {
  // 2 poses x 3 expressions of 1 x 2 x 2 faces. Pose 0: expression e is the constant -1 + 0.2 e;
  // pose 1: 3 channels, expression 2 differs from expression 0 by 0.6 in one channel only.
  auto faces = torch::zeros({6, 3, 2, 2});
  for (int e = 0; e < 3; ++e) faces[e].fill_(-1 + 0.2 * e);
  faces[5][1].fill_(0.6);
  auto m = change_maps(faces, 3, 0, 4.0);
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{6, 1, 2, 2}));
  // Reference column black; |0.2| / 2 * 4 = 0.4 -> 2 * 0.4 - 1 = -0.2; |0.4| / 2 * 4 = 0.8 -> 0.6.
  EXPECT_TRUE(torch::allclose(m[0], torch::full({1, 2, 2}, -1.0)));
  EXPECT_TRUE(torch::allclose(m[1], torch::full({1, 2, 2}, -0.2), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(m[2], torch::full({1, 2, 2}, 0.6), 1e-5, 1e-6));
  // Pose 1: 0.6 / 2 in one of 3 channels -> 0.1 * 4 = 0.4 -> -0.2; a gain of 40 clips at white.
  EXPECT_TRUE(torch::allclose(m[5], torch::full({1, 2, 2}, -0.2), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(change_maps(faces, 3, 0, 40.0)[2], torch::ones({1, 2, 2})));
  // Against another reference column, that column is the black one.
  EXPECT_TRUE(torch::allclose(change_maps(faces, 3, 2, 4.0)[2], torch::full({1, 2, 2}, -1.0)));
  EXPECT_THROW_MSG(change_maps(faces, 4, 0, 4.0), ShapeError, "expected faces [P * 4, C, N, N]");
  EXPECT_THROW_MSG(change_maps(faces, 3, 3, 4.0), ConfigError, "reference expression 3 outside [0, 3)");
  EXPECT_THROW_MSG(change_maps(faces, 3, 0, 0.0), ConfigError, "gain must be positive");
}

TEST(Synthesizer, ReferenceExpressionAndZoom) {
  EXPECT_EQ(reference_expression({"happy", "neutral", "sad"}), 1);
  EXPECT_EQ(reference_expression({"smile", "non-smile"}), 0);
  auto img = torch::arange(4, torch::kFloat).view({1, 1, 2, 2});
  auto z = zoom_images(img, 3);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{1, 1, 6, 6}));
  EXPECT_EQ(z[0][0][2][2].item<float>(), 0.f);
  EXPECT_EQ(z[0][0][2][3].item<float>(), 1.f);
  EXPECT_EQ(z[0][0][5][0].item<float>(), 2.f);
  EXPECT_EQ(z[0][0][5][5].item<float>(), 3.f);
  EXPECT_TRUE(torch::equal(zoom_images(img, 1), img));
  EXPECT_THROW_MSG(zoom_images(img, 0), ConfigError, "zoom must be in [1, 16], got 0");
  EXPECT_THROW_MSG(zoom_images(img[0], 2), ShapeError, "expected images [B, C, H, W]");
}

}  // namespace
}  // namespace posefer
