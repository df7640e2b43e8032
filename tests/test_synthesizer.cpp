#include "posefer/synthesizer.h"

#include <gtest/gtest.h>

#include "posefer/check.h"
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

}  // namespace
}  // namespace posefer
