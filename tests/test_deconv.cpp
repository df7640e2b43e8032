// FastConvTranspose2d / conv_transpose2d_polyphase against torch::conv_transpose2d: outputs,
// gradients, parameter layout, checkpoints, init compatibility and rejected options.
#include "posefer/model/deconv.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "posefer/core/check.h"
#include "test_support.h"

namespace {

namespace nn = torch::nn;
using posefer::FastConvTranspose2d;

constexpr double kTolerance = 1e-4;

struct Case {
  int64_t batch, cin, cout, h, w, k, stride, padding, output_padding;
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << "B" << c.batch << " Cin" << c.cin << " Cout" << c.cout << " " << c.h << "x" << c.w
     << " k" << c.k << " s" << c.stride << " p" << c.padding << " op" << c.output_padding;
  return os.str();
}

// The generator's geometry (k5 s2 p2 op1) on odd, even, 1x1 and non-square inputs, then the
// other shapes the plan handles: odd outputs (op 0), k4 / k3 / k2, p 0, p > k - 1, stride 1
// (k5, k3, k1).
const std::vector<Case> kCases = {
    {2, 3, 4, 4, 4, 5, 2, 2, 1}, {1, 5, 3, 5, 5, 5, 2, 2, 1}, {3, 2, 6, 3, 6, 5, 2, 2, 1},
    {2, 4, 2, 1, 1, 5, 2, 2, 1}, {2, 3, 4, 4, 5, 5, 2, 2, 0}, {2, 3, 4, 5, 5, 4, 2, 1, 0},
    {2, 3, 4, 6, 3, 4, 2, 1, 1}, {2, 3, 4, 4, 4, 3, 2, 1, 1}, {2, 3, 4, 5, 5, 3, 2, 1, 0},
    {2, 3, 4, 4, 4, 5, 2, 0, 1}, {2, 3, 4, 3, 3, 2, 2, 0, 0}, {2, 3, 4, 6, 6, 3, 2, 4, 1},
    {2, 3, 4, 6, 6, 5, 1, 2, 0}, {2, 4, 3, 5, 7, 3, 1, 1, 0}, {2, 3, 4, 4, 4, 1, 1, 0, 0},
    {1, 3, 2, 4, 4, 5, 1, 0, 0}, {2, 3, 2, 5, 5, 5, 1, 4, 0}, {2, 3, 4, 7, 6, 3, 2, 4, 0},
    {1, 2, 32, 3, 4, 5, 2, 2, 1},  // Cout >= kSplitMinOutChannels: split by default
};

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

struct Inputs {
  torch::Tensor x, weight, bias;
};

Inputs make_inputs(const Case& c, uint64_t seed, bool with_grad) {
  torch::manual_seed(seed);
  Inputs in;
  in.x = torch::randn({c.batch, c.cin, c.h, c.w}).requires_grad_(with_grad);
  in.weight = (0.3 * torch::randn({c.cin, c.cout, c.k, c.k})).requires_grad_(with_grad);
  in.bias = torch::randn({c.cout}).requires_grad_(with_grad);
  return in;
}

nn::ConvTranspose2dOptions options_of(const Case& c) {
  return nn::ConvTranspose2dOptions(c.cin, c.cout, c.k)
      .stride(c.stride)
      .padding(c.padding)
      .output_padding(c.output_padding);
}

using Method = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                 int64_t, int64_t, int64_t);
struct NamedMethod {
  const char* name;
  Method run;
};
torch::Tensor polyphase_with_layout(const torch::Tensor& x, const torch::Tensor& w,
                                    const torch::Tensor& b, int64_t s, int64_t p, int64_t op,
                                    bool fused) {
  const auto plan = posefer::make_polyphase_plan(w.size(0), w.size(1), w.size(2), s, p, op, fused);
  return posefer::polyphase_forward(plan, x, w, b);
}

// The default polyphase layout, each layout forced, and the GEMM route.
const NamedMethod kMethods[] = {
    {"polyphase", &posefer::conv_transpose2d_polyphase},
    {"polyphase split",
     [](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t s,
        int64_t p, int64_t op) { return polyphase_with_layout(x, w, b, s, p, op, false); }},
    {"polyphase fused",
     [](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t s,
        int64_t p, int64_t op) { return polyphase_with_layout(x, w, b, s, p, op, true); }},
    {"gemm", &posefer::conv_transpose2d_gemm}};

TEST(Deconv, ForwardMatchesConvTranspose2d) {
  for (const auto& method : kMethods) {
    SCOPED_TRACE(method.name);
    double worst = 0;
    for (size_t i = 0; i < kCases.size(); ++i) {
      const Case& c = kCases[i];
      SCOPED_TRACE(describe(c));
      torch::NoGradGuard no_grad;
      const auto in = make_inputs(c, 100 + i, false);
      const auto want = torch::conv_transpose2d(in.x, in.weight, in.bias, c.stride, c.padding,
                                                c.output_padding);
      const auto got =
          method.run(in.x, in.weight, in.bias, c.stride, c.padding, c.output_padding);
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(got.is_contiguous());
      const double diff = max_abs_diff(got, want);
      EXPECT_LT(diff, kTolerance);
      worst = std::max(worst, diff);
      // Without bias too.
      const auto want_nb = torch::conv_transpose2d(in.x, in.weight, {}, c.stride, c.padding,
                                                   c.output_padding);
      const auto got_nb = method.run(in.x, in.weight, {}, c.stride, c.padding, c.output_padding);
      EXPECT_LT(max_abs_diff(got_nb, want_nb), kTolerance);
    }
    std::printf("[deconv] %s forward max |diff| over %zu cases: %.3g\n", method.name,
                kCases.size(), worst);
  }
}

TEST(Deconv, GradientsMatchConvTranspose2d) {
  for (const auto& method : kMethods) {
    SCOPED_TRACE(method.name);
    double worst[3] = {0, 0, 0};
    for (size_t i = 0; i < kCases.size(); ++i) {
      const Case& c = kCases[i];
      SCOPED_TRACE(describe(c));
      const auto in = make_inputs(c, 200 + i, true);
      const auto want = torch::conv_transpose2d(in.x, in.weight, in.bias, c.stride, c.padding,
                                                c.output_padding);
      const auto got =
          method.run(in.x, in.weight, in.bias, c.stride, c.padding, c.output_padding);
      const auto grad_out = torch::randn(want.sizes());
      const auto g_want =
          torch::autograd::grad({want}, {in.x, in.weight, in.bias}, {grad_out});
      const auto g_got = torch::autograd::grad({got}, {in.x, in.weight, in.bias}, {grad_out});
      const char* names[3] = {"input", "weight", "bias"};
      for (int j = 0; j < 3; ++j) {
        SCOPED_TRACE(names[j]);
        ASSERT_EQ(g_got[j].sizes(), g_want[j].sizes());
        const double diff = max_abs_diff(g_got[j], g_want[j]);
        EXPECT_LT(diff, kTolerance);
        worst[j] = std::max(worst[j], diff);
      }
    }
    std::printf("[deconv] %s grad max |diff|: input %.3g, weight %.3g, bias %.3g\n",
                method.name, worst[0], worst[1], worst[2]);
  }
}

// create_graph through the layer (a gradient penalty on its input) still differentiates
// correctly w.r.t. the weight.
TEST(Deconv, DoubleBackwardMatchesConvTranspose2d) {
  // The G_dec geometry, then an odd output (surplus phase row/column) and a cropped one.
  for (const Case& c : {Case{2, 3, 4, 4, 5, 5, 2, 2, 1}, Case{2, 3, 4, 4, 5, 5, 2, 2, 0},
                        Case{1, 2, 3, 6, 6, 3, 2, 4, 1}, Case{2, 3, 2, 5, 5, 5, 1, 2, 0}}) {
    for (const auto& method : kMethods) {
      SCOPED_TRACE(describe(c) + " " + method.name);
      const auto in = make_inputs(c, 9, true);
      const auto penalty_grad = [&](const torch::Tensor& y) {
        const auto gx = torch::autograd::grad({y.pow(2).sum()}, {in.x}, {},
                                              /*retain_graph=*/true, /*create_graph=*/true)[0];
        return torch::autograd::grad({gx.pow(2).sum()}, {in.weight})[0];
      };
      const auto want = penalty_grad(torch::conv_transpose2d(in.x, in.weight, in.bias, c.stride,
                                                             c.padding, c.output_padding));
      const auto got = penalty_grad(
          method.run(in.x, in.weight, in.bias, c.stride, c.padding, c.output_padding));
      EXPECT_LT(max_abs_diff(got, want), 1e-3 * std::max(1.0, want.abs().max().item<double>()));
    }
  }
}

// G_dec's layer (k5 s2 p2 op1): split phases are 3x3, 3x2, 2x3, 2x2 slices of the flipped
// weight; fused pads them all to 3x3 with zero taps (-1).
TEST(Deconv, PlanOfTheGeneratorLayer) {
  using Rows = std::vector<int64_t>;
  const auto split = posefer::make_polyphase_plan(8, 64, 5, 2, 2, 1);
  ASSERT_FALSE(split.fused);
  ASSERT_EQ(split.residues.size(), 2u);
  EXPECT_EQ(split.side_delta, 0);  // every phase has H rows: output 2H
  EXPECT_EQ(split.residues[0].weight_rows, (Rows{4, 2, 0}));
  EXPECT_EQ(split.residues[1].weight_rows, (Rows{3, 1}));
  EXPECT_EQ(split.residues[0].conv_padding, 1);
  EXPECT_EQ(split.residues[0].crop, 0);
  EXPECT_EQ(split.residues[1].conv_padding, 1);
  EXPECT_EQ(split.residues[1].crop, 1);
  const auto fused = posefer::make_polyphase_plan(8, 4, 5, 2, 2, 1);
  ASSERT_TRUE(fused.fused);  // Cout 4 < kSplitMinOutChannels
  EXPECT_EQ(fused.residues[0].weight_rows, (Rows{4, 2, 0}));
  EXPECT_EQ(fused.residues[1].weight_rows, (Rows{-1, 3, 1}));
  for (const auto& r : fused.residues) {
    EXPECT_EQ(r.conv_padding, 1);
    EXPECT_EQ(r.crop, 0);
  }
  // Stride 1: one phase, the whole kernel flipped.
  const auto s1 = posefer::make_polyphase_plan(8, 4, 5, 1, 2, 0);
  ASSERT_EQ(s1.residues.size(), 1u);
  EXPECT_EQ(s1.residues[0].weight_rows, (Rows{4, 3, 2, 1, 0}));
  EXPECT_EQ(s1.residues[0].conv_padding, 2);
}

TEST(Deconv, DoubleInputsAgreeToDoublePrecision) {
  const Case c{2, 3, 4, 5, 4, 5, 2, 2, 1};
  torch::NoGradGuard no_grad;
  const auto in = make_inputs(c, 7, false);
  const auto x = in.x.to(torch::kDouble);
  const auto w = in.weight.to(torch::kDouble);
  const auto b = in.bias.to(torch::kDouble);
  for (const auto& method : kMethods) {
    SCOPED_TRACE(method.name);
    EXPECT_LT(max_abs_diff(method.run(x, w, b, 2, 2, 1), torch::conv_transpose2d(x, w, b, 2, 2, 1)),
              1e-10);
  }
}

// Copies a's parameters into b (same names and shapes).
void copy_parameters(nn::Module& from, nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(src[p.key()]);
}

TEST(Deconv, ModuleMatchesConvTranspose2dForwardAndBackward) {
  using posefer::DeconvRoute;
  for (DeconvRoute route : {DeconvRoute::kPolyphase, DeconvRoute::kGemm})
  for (size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    SCOPED_TRACE(describe(c) + " route " + std::to_string(static_cast<int>(route)));
    torch::manual_seed(300 + i);
    nn::ConvTranspose2d plain(options_of(c));
    FastConvTranspose2d fast(options_of(c), /*fast=*/true, route);
    copy_parameters(*plain, *fast);
    const auto x = torch::randn({c.batch, c.cin, c.h, c.w});
    const auto y_plain = plain->forward(x);
    const auto y_fast = fast->forward(x);
    ASSERT_EQ(y_fast.sizes(), y_plain.sizes());
    EXPECT_LT(max_abs_diff(y_fast, y_plain), kTolerance);
    const auto g = torch::randn(y_plain.sizes());
    y_plain.backward(g);
    y_fast.backward(g);
    EXPECT_LT(max_abs_diff(fast->weight.grad(), plain->weight.grad()), kTolerance);
    EXPECT_LT(max_abs_diff(fast->bias.grad(), plain->bias.grad()), kTolerance);
  }
}

TEST(Deconv, SlowPathIsIdenticalToConvTranspose2d) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    SCOPED_TRACE(describe(c));
    torch::manual_seed(400 + i);
    nn::ConvTranspose2d plain(options_of(c));
    FastConvTranspose2d slow(options_of(c), /*fast=*/false);
    copy_parameters(*plain, *slow);
    const auto x = torch::randn({c.batch, c.cin, c.h, c.w});
    EXPECT_TRUE(torch::equal(slow->forward(x), plain->forward(x)));
  }
}

TEST(Deconv, DefaultInitAndParameterLayoutMatchConvTranspose2d) {
  for (bool bias : {true, false}) {
    const auto opts = nn::ConvTranspose2dOptions(6, 4, 5).stride(2).padding(2).output_padding(1)
                          .bias(bias);
    torch::manual_seed(11);
    nn::ConvTranspose2d plain(opts);
    torch::manual_seed(11);
    FastConvTranspose2d fast(opts);
    auto pp = plain->named_parameters();
    auto fp = fast->named_parameters();
    ASSERT_EQ(pp.keys(), fp.keys());
    for (const auto& key : pp.keys()) {
      SCOPED_TRACE(key);
      EXPECT_TRUE(torch::equal(pp[key], fp[key]));  // same shapes and same random init
    }
    EXPECT_EQ(fast->bias.defined(), bias);
    EXPECT_EQ(plain->named_buffers().size(), fast->named_buffers().size());
  }
}

TEST(Deconv, NameAndKaimingFanMatchConvTranspose2d) {
  const auto opts = nn::ConvTranspose2dOptions(8, 3, 5).stride(2).padding(2).output_padding(1);
  nn::ConvTranspose2d plain(opts);
  FastConvTranspose2d fast(opts);
  // init_weights() selects conv modules by name.
  EXPECT_EQ(fast->name(), "posefer::FastConvTranspose2dImpl");
  EXPECT_NE(fast->name().find("ConvTranspose"), std::string::npos);
  EXPECT_NE(fast->name().find("Conv"), std::string::npos);
  EXPECT_EQ(torch::nn::init::_calculate_fan_in_and_fan_out(fast->weight),
            torch::nn::init::_calculate_fan_in_and_fan_out(plain->weight));
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  torch::nn::init::kaiming_normal_(plain->weight, 0.0, torch::kFanIn, torch::kReLU);
  torch::manual_seed(5);
  torch::nn::init::kaiming_normal_(fast->weight, 0.0, torch::kFanIn, torch::kReLU);
  EXPECT_TRUE(torch::equal(plain->weight, fast->weight));
}

TEST(Deconv, StateDictRoundTripsWithConvTranspose2d) {
  const auto opts = nn::ConvTranspose2dOptions(5, 3, 5).stride(2).padding(2).output_padding(1);
  const auto x = torch::randn({2, 5, 4, 4});
  torch::manual_seed(21);
  nn::ConvTranspose2d plain(opts);
  FastConvTranspose2d fast(opts);
  FastConvTranspose2d slow(opts, /*fast=*/false);
  // nn::ConvTranspose2d -> FastConvTranspose2d.
  {
    std::stringstream stream;
    torch::save(plain, stream);
    torch::load(fast, stream);
  }
  EXPECT_TRUE(torch::equal(fast->weight, plain->weight));
  EXPECT_LT(max_abs_diff(fast->forward(x), plain->forward(x)), kTolerance);
  // FastConvTranspose2d -> nn::ConvTranspose2d (fresh weights first).
  torch::manual_seed(22);
  FastConvTranspose2d source(opts);
  {
    std::stringstream stream;
    torch::save(source, stream);
    torch::load(plain, stream);
  }
  {
    std::stringstream stream;
    torch::save(source, stream);
    torch::load(slow, stream);
  }
  EXPECT_TRUE(torch::equal(plain->bias, source->bias));
  EXPECT_LT(max_abs_diff(source->forward(x), plain->forward(x)), kTolerance);
  EXPECT_TRUE(torch::equal(slow->forward(x), plain->forward(x)));
}

TEST(Deconv, WorksInsideSequentialAndClones) {
  nn::Sequential seq(FastConvTranspose2d(nn::ConvTranspose2dOptions(4, 3, 5).stride(2).padding(2)
                                             .output_padding(1)),
                     nn::ReLU());
  const auto x = torch::randn({2, 4, 3, 3});
  const auto y = seq->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 6, 6}));
  auto copy = std::dynamic_pointer_cast<nn::SequentialImpl>(seq->clone());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(torch::equal(copy->forward(x), y));
  std::ostringstream os;
  os << *seq;
  EXPECT_NE(os.str().find("posefer::FastConvTranspose2d(4, 3, kernel_size=[5, 5]"),
            std::string::npos)
      << os.str();
}

TEST(Deconv, RejectsUnsupportedOptions) {
  using posefer::ConfigError;
  const auto base = [] { return nn::ConvTranspose2dOptions(4, 3, 5).stride(2).padding(2); };
  EXPECT_THROW_MSG(FastConvTranspose2d(base().groups(2)), ConfigError, "groups must be 1");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().dilation(2)), ConfigError, "dilation must be 1");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().stride(3)), ConfigError, "stride must be 1 or 2");
  EXPECT_THROW_MSG(FastConvTranspose2d(nn::ConvTranspose2dOptions(4, 3, {3, 5})), ConfigError,
                   "kernel_size must be the same for rows and columns");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().stride({1, 2})), ConfigError,
                   "stride must be the same");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().padding({1, 2})), ConfigError,
                   "padding must be the same");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().output_padding(2)), ConfigError,
                   "output_padding must be in [0, stride)");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().stride(1).output_padding(1)), ConfigError,
                   "output_padding must be in [0, stride)");
  EXPECT_THROW_MSG(FastConvTranspose2d(nn::ConvTranspose2dOptions(4, 3, 1).stride(2)), ConfigError,
                   "kernel size must be >= stride");
  EXPECT_THROW_MSG(FastConvTranspose2d(base().padding_mode(torch::kCircular)), ConfigError,
                   "padding mode must be kZeros");
  EXPECT_THROW_MSG(posefer::conv_transpose2d_polyphase(torch::zeros({1, 4, 3, 3}),
                                                       torch::zeros({4, 3, 5, 5}), {}, 4, 2, 1),
                   ConfigError, "stride must be 1 or 2");
}

TEST(Deconv, RejectsWrongShapes) {
  using posefer::ShapeError;
  FastConvTranspose2d fast(nn::ConvTranspose2dOptions(4, 3, 5).stride(2).padding(2));
  EXPECT_THROW_MSG(fast->forward(torch::zeros({1, 5, 3, 3})), ShapeError,
                   "expected input [B, 4, H, W]");
  EXPECT_THROW_MSG(fast->forward(torch::zeros({4, 3, 3})), ShapeError, "expected input");
  EXPECT_THROW_MSG(posefer::conv_transpose2d_polyphase(torch::zeros({1, 4, 3, 3}),
                                                       torch::zeros({4, 3, 5, 3}), {}, 2, 2, 1),
                   ShapeError, "expected weight [Cin, Cout, k, k]");
  EXPECT_THROW_MSG(posefer::conv_transpose2d_polyphase(torch::zeros({1, 4, 3, 3}),
                                                       torch::zeros({4, 3, 5, 5}),
                                                       torch::zeros({4}), 2, 2, 1),
                   ShapeError, "expected bias [3]");
}

}  // namespace
