// Checkpoints (checkpoint.h): exact round trips of nets, optimisers and state; config checks;
// missing, truncated and foreign files; atomic writes.
#include "posefer/train/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

ModelConfig tiny_model() {
  ModelConfig cfg;
  cfg.image_size = 32;
  cfg.channels = 1;
  cfg.num_expressions = 3;
  cfg.num_poses = 2;
  cfg.id_dim = 8;
  cfg.gen_width = 0.125;
  cfg.disc_width = 0.25;
  cfg.cls_width = 0.0625;
  return cfg;
}

struct Batch {
  torch::Tensor x, e, p, prior;
};

Batch make_batch(uint64_t seed) {
  torch::manual_seed(seed);
  Batch b;
  b.x = torch::rand({4, 1, 32, 32}) * 2 - 1;
  b.e = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  b.p = torch::tensor({1, 0, 0, 1}, torch::kInt64);
  b.prior = torch::rand({4, 8}) * 2 - 1;
  return b;
}

// One Adam step of every optimiser on a simple loss per net (train mode, so batch-norm running
// statistics move too). Dropout draws from the default generator, seeded here.
void step_all(JointModel& m, const Batch& b) {
  m.train();
  torch::manual_seed(11);
  m.opt_g->zero_grad();
  m.gen->forward(b.x, b.e, b.p).pow(2).mean().backward();
  m.opt_g->step();
  m.opt_d_att->zero_grad();
  m.d_att->forward(b.x, b.e, b.p).pow(2).mean().backward();
  m.opt_d_att->step();
  m.opt_d_i->zero_grad();
  m.d_i->forward(b.prior).pow(2).mean().backward();
  m.opt_d_i->step();
  m.opt_cls->zero_grad();
  auto out = m.cls->forward(b.x);
  (out.expression.pow(2).mean() + out.pose.pow(2).mean()).backward();
  m.opt_cls->step();
}

// Every net's output on `b` in eval mode, concatenated.
std::vector<torch::Tensor> outputs(JointModel& m, const Batch& b) {
  torch::NoGradGuard no_grad;
  m.eval();
  auto f = m.gen->encoder->forward(b.x);
  auto out = m.cls->forward(b.x);
  std::vector<torch::Tensor> r{f, m.gen->decoder->forward(f, b.e, b.p), m.d_att->forward(b.x, b.e, b.p),
                               m.d_i->forward(b.prior), out.expression, out.pose};
  m.train();
  return r;
}

// All parameters and buffers of every net, by "<net>.<name>".
std::vector<std::pair<std::string, torch::Tensor>> all_tensors(JointModel& m) {
  std::vector<std::pair<std::string, torch::Tensor>> r;
  auto add = [&](const std::string& net, torch::nn::Module& mod) {
    for (const auto& p : mod.named_parameters()) r.emplace_back(net + "." + p.key(), p.value());
    for (const auto& p : mod.named_buffers()) r.emplace_back(net + "." + p.key(), p.value());
  };
  add("gen", *m.gen);
  add("d_att", *m.d_att);
  add("d_i", *m.d_i);
  add("cls", *m.cls);
  return r;
}

void expect_same_tensors(JointModel& a, JointModel& b) {
  const auto ta = all_tensors(a), tb = all_tensors(b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    ASSERT_EQ(ta[i].first, tb[i].first);
    EXPECT_TRUE(torch::equal(ta[i].second, tb[i].second)) << ta[i].first;
  }
}

TrainState some_state() {
  TrainState s;
  s.epoch = 3;
  s.step_in_epoch = 2;
  s.global_step = 17;
  s.permutation = torch::tensor({4, 0, 3, 1, 2}, torch::kInt64);
  s.shuffle_rng = "12345 678";
  s.torch_rng = get_torch_rng_state();
  s.expression_names = {"neutral", "happy", "sad"};
  s.pose_names = {"left", "right"};
  return s;
}

TrainConfig config_with(const ModelConfig& model) {
  TrainConfig c;
  c.model = model;
  return c;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(Checkpoint, RoundTripRestoresEveryNetOptimiserAndState) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "checkpoint.pt").string();
  const auto batch = make_batch(3);

  torch::manual_seed(1);
  JointModel a(tiny_model(), OptimConfig{}, torch::kCPU);
  step_all(a, batch);  // non-trivial Adam moments and batch-norm statistics
  const TrainState saved = some_state();
  save_checkpoint(path, config_with(tiny_model()), a, saved);

  torch::manual_seed(2);
  JointModel b(tiny_model(), OptimConfig{}, torch::kCPU);
  const auto before = outputs(b, batch), want = outputs(a, batch);
  EXPECT_FALSE(torch::equal(before[0], want[0]));  // really a different model before loading

  TrainState state;
  load_checkpoint(path, b, state);
  expect_same_tensors(a, b);
  const auto got = outputs(b, batch);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(torch::equal(got[i], want[i])) << "output " << i;

  EXPECT_EQ(state.epoch, 3);
  EXPECT_EQ(state.step_in_epoch, 2);
  EXPECT_EQ(state.global_step, 17);
  ASSERT_TRUE(state.permutation.defined());
  EXPECT_TRUE(torch::equal(state.permutation, saved.permutation));
  EXPECT_EQ(state.shuffle_rng, "12345 678");
  ASSERT_TRUE(state.torch_rng.defined());
  EXPECT_TRUE(torch::equal(state.torch_rng, saved.torch_rng));
  EXPECT_EQ(state.expression_names, saved.expression_names);
  EXPECT_EQ(state.pose_names, saved.pose_names);

  // Optimiser state: the next Adam step of both models is the same. A fresh Adam (step 1, zero
  // moments) would move the weights differently.
  step_all(a, batch);
  step_all(b, batch);
  expect_same_tensors(a, b);

  torch::manual_seed(2);
  JointModel fresh_opt(tiny_model(), OptimConfig{}, torch::kCPU);
  {
    // Same weights as `a` had after the first step but no optimiser state.
    TrainState ignored;
    load_checkpoint(path, fresh_opt, ignored);
    fresh_opt.opt_g = std::make_unique<torch::optim::Adam>(
        fresh_opt.gen->parameters(), torch::optim::AdamOptions(2e-4).betas(std::make_tuple(0.5, 0.999)));
  }
  step_all(fresh_opt, batch);
  const auto wa = a.gen->parameters(), wf = fresh_opt.gen->parameters();
  bool any_differs = false;
  for (size_t i = 0; i < wa.size(); ++i) any_differs |= !torch::equal(wa[i], wf[i]);
  EXPECT_TRUE(any_differs) << "the optimiser-state check above cannot detect a lost state";
}

TEST(Checkpoint, StateWithoutPermutationOrRngLoadsUndefined) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "c.pt").string();
  torch::manual_seed(1);
  JointModel a(tiny_model(), OptimConfig{}, torch::kCPU);
  TrainState s;
  s.epoch = 5;
  s.expression_names = {"a", "b", "c"};
  s.pose_names = {"x", "y"};
  save_checkpoint(path, config_with(tiny_model()), a, s);
  TrainState got;
  got.permutation = torch::ones({3});
  load_checkpoint(path, a, got);
  EXPECT_EQ(got.epoch, 5);
  EXPECT_FALSE(got.permutation.defined());
  EXPECT_FALSE(got.torch_rng.defined());
}

TEST(Checkpoint, DifferentModelConfigThrowsNamingTheField) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "checkpoint.pt").string();
  torch::manual_seed(1);
  JointModel a(tiny_model(), OptimConfig{}, torch::kCPU);
  save_checkpoint(path, config_with(tiny_model()), a, some_state());

  ModelConfig bigger = tiny_model();
  bigger.image_size = 64;
  JointModel b(bigger, OptimConfig{}, torch::kCPU);
  TrainState state;
  EXPECT_THROW_MSG(load_checkpoint(path, b, state), ConfigError, "image_size 32 (expected 64)");
  EXPECT_EQ(state.epoch, 0);  // nothing loaded

  ModelConfig two = tiny_model();
  two.gen_width = 0.25;
  two.pose_head = false;
  JointModel c(two, OptimConfig{}, torch::kCPU);
  try {
    load_checkpoint(path, c, state);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gen_width"), std::string::npos) << msg;
    EXPECT_NE(msg.find("pose_head"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("image_size"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
}

TEST(Checkpoint, MissingFileIsAnInputError) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "nope.pt").string();
  torch::manual_seed(1);
  JointModel a(tiny_model(), OptimConfig{}, torch::kCPU);
  TrainState state;
  EXPECT_THROW_MSG(load_checkpoint(path, a, state), InputError, path + ": no such checkpoint file");
  EXPECT_THROW_MSG(read_checkpoint_config(path), InputError, "no such checkpoint file");
}

TEST(Checkpoint, TruncatedOrForeignFileIsAnInputError) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "checkpoint.pt").string();
  torch::manual_seed(1);
  JointModel a(tiny_model(), OptimConfig{}, torch::kCPU);
  save_checkpoint(path, config_with(tiny_model()), a, some_state());
  const std::string bytes = read_bytes(path);
  ASSERT_GT(bytes.size(), 1000u);

  const std::string half = (dir / "half.pt").string();
  write_bytes(half, bytes.substr(0, bytes.size() / 2));
  TrainState state;
  EXPECT_THROW_MSG(load_checkpoint(half, a, state), InputError, half);
  EXPECT_THROW_MSG(read_checkpoint_config(half), InputError, "truncated or corrupt");

  const std::string text = (dir / "text.pt").string();
  write_bytes(text, "this is not a checkpoint\n");
  EXPECT_THROW_MSG(read_checkpoint_config(text), InputError, text);

  const std::string empty = (dir / "empty.pt").string();
  write_bytes(empty, "");
  EXPECT_THROW_MSG(read_checkpoint_config(empty), InputError, empty);

  // A valid torch archive that is not a posefer checkpoint.
  const std::string foreign = (dir / "foreign.pt").string();
  torch::serialize::OutputArchive archive;
  archive.write("weights", torch::ones({3}));
  archive.save_to(foreign);
  EXPECT_THROW_MSG(read_checkpoint_config(foreign), InputError, "not a posefer checkpoint");
  EXPECT_THROW_MSG(load_checkpoint(foreign, a, state), InputError, "not a posefer checkpoint");
}

TEST(Checkpoint, ConfigRoundTripsThroughTheFile) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "checkpoint.pt").string();
  TrainConfig cfg = config_with(tiny_model());
  cfg.model.init = "he";
  cfg.model.cls_batch_norm = false;
  cfg.data.spec = "cmu:/data/faces";
  cfg.data.fold = "2/5";
  cfg.data.split_seed = 99;
  cfg.data.crop = "center";
  cfg.data.max_train = 123;
  cfg.loss.alpha = 0.5;
  cfg.loss.cls_feedback = 0.125;
  cfg.loss.cls_feedback_warmup = 2;
  cfg.optim.lr = 1e-3;
  cfg.optim.decay_every = 10;
  cfg.epochs = 7;
  cfg.batch_size = 16;
  cfg.gen_k = 3;
  cfg.gen_warmup = 1;
  cfg.extra_g_steps = 0;
  cfg.seed = 1234567890123ULL;
  cfg.device = "cpu";
  cfg.progress = false;
  ASSERT_NE(nlohmann::json(cfg), nlohmann::json(TrainConfig{}));

  torch::manual_seed(1);
  JointModel a(cfg.model, cfg.optim, torch::kCPU);
  save_checkpoint(path, cfg, a, some_state());
  const TrainConfig back = read_checkpoint_config(path);
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(cfg)) << nlohmann::json(back).dump(1);
  EXPECT_TRUE(back.model == cfg.model);
  EXPECT_EQ(back.seed, 1234567890123ULL);
}

TEST(Checkpoint, SaveIsAtomicAndOverwrites) {
  const auto dir = test::fresh_dir("ckpt");
  const std::string path = (dir / "sub" / "checkpoint.pt").string();  // parent is created
  torch::manual_seed(1);
  JointModel a(tiny_model(), OptimConfig{}, torch::kCPU);
  TrainState s = some_state();
  save_checkpoint(path, config_with(tiny_model()), a, s);
  s.epoch = 4;
  save_checkpoint(path, config_with(tiny_model()), a, s);

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint.pt"}));
  TrainState got;
  load_checkpoint(path, a, got);
  EXPECT_EQ(got.epoch, 4);

  // An unwritable destination throws Error naming the path and leaves no temp file.
  const auto blocker = dir / "file";
  write_bytes(blocker, "x");
  const std::string bad = (blocker / "checkpoint.pt").string();
  EXPECT_THROW_MSG(save_checkpoint(bad, config_with(tiny_model()), a, s), Error, bad);
}

TEST(Checkpoint, TorchRngStateRoundTrip) {
  torch::manual_seed(42);
  const auto state = get_torch_rng_state();
  const auto first = torch::rand({5});
  torch::rand({100});
  set_torch_rng_state(state);
  EXPECT_TRUE(torch::equal(torch::rand({5}), first));
}

}  // namespace
}  // namespace posefer
