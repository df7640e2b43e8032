// Plain nn::ConvTranspose2d vs the polyphase FastConvTranspose2d on G_dec's transposed convs.
//
// Usage: bench_deconv [--threads 1] [--runs 5] [--batch 32] [--sizes 64,128] [--widths 0.25,1]
//                     [--per-layer 0|1] [--channels-last 0|1]
// For every image size N and generator width w it times, with identical weights:
//   s2 stack: the five 5x5 stride 2 layers (1024w -> 512w, 256w, 128w, 64w, 32w, + ReLU), input
//             side N/32, output side N;
//   s1 tail:  the two 5x5 stride 1 layers (32w -> 16w, 16w -> 3, + ReLU) at side N.
// Columns: median ms of forward (no autograd) and forward + backward (grads of input, weights and
// biases) over `runs` timed runs after one warm-up, for plain and FastConvTranspose2d, and
// plain / fast. "gemm-first": the stack with its first layer on DeconvRoute::kGemm.
// --per-layer 1 adds a row per layer with, as a profile, each polyphase layout forced (split,
// fused) and the GEMM + col2im route. --channels-last 1 feeds channels-last tensors.
//
// BLAS note: on a CPU that OpenBLAS does not recognise (a VM showing "Intel Xeon Processor") it
// falls back to its SSE3 "Prescott" kernels (OPENBLAS_VERBOSE=2 prints "Core: Prescott"), ~3.5x
// below what OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) gives. That slows plain
// ConvTranspose2d (and every Linear) as much as the GEMM route; oneDNN convs are unaffected.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "posefer/model/deconv.h"

namespace {

namespace nn = torch::nn;

struct Options {
  int threads = 1;
  int runs = 5;
  int batch = 32;
  std::vector<int> sizes{64, 128};
  std::vector<double> widths{0.25, 1.0};
  bool per_layer = false;
  bool channels_last = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "bench_deconv: %s\nusage: bench_deconv [--threads 1] [--runs 5] [--batch 32] "
               "[--sizes 64,128] [--widths 0.25,1] [--per-layer 0|1] [--channels-last 0|1]\n",
               why.c_str());
  std::exit(2);
}

double to_number(const std::string& flag, const std::string& s) {
  return posefer::bench::to_number("bench_deconv", flag, s);
}

std::vector<double> to_list(const std::string& flag, const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(to_number(flag, item));
  if (out.empty()) usage(flag + ": empty list");
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (i + 1 >= argc) usage(flag + ": missing value");
    const std::string v = argv[++i];
    if (flag == "--threads") {
      o.threads = static_cast<int>(to_number(flag, v));
    } else if (flag == "--runs") {
      o.runs = static_cast<int>(to_number(flag, v));
    } else if (flag == "--batch") {
      o.batch = static_cast<int>(to_number(flag, v));
    } else if (flag == "--sizes") {
      o.sizes.clear();
      for (double d : to_list(flag, v)) o.sizes.push_back(static_cast<int>(d));
    } else if (flag == "--widths") {
      o.widths = to_list(flag, v);
    } else if (flag == "--per-layer") {
      o.per_layer = to_number(flag, v) != 0;
    } else if (flag == "--channels-last") {
      o.channels_last = to_number(flag, v) != 0;
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.threads < 1 || o.runs < 1 || o.batch < 1) usage("--threads, --runs, --batch must be >= 1");
  for (int n : o.sizes) {
    if (n < 32 || n % 32 != 0) usage("--sizes: every size must be a multiple of 32");
  }
  return o;
}

// Same rule as posefer::scaled_channels (src/model/generator.cpp), kept local so the bench links
// only deconv.cpp.
int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(4, static_cast<int64_t>(std::lround(static_cast<double>(base) * width)));
}

struct Layer {
  int64_t cin, cout, stride, output_padding;
  nn::ConvTranspose2dOptions options() const {
    return nn::ConvTranspose2dOptions(cin, cout, 5).stride(stride).padding(2).output_padding(
        output_padding);
  }
};

std::vector<Layer> stride2_stack(double w) {
  std::vector<Layer> layers;
  int64_t in = scaled(1024, w);
  for (int64_t base : {512, 256, 128, 64, 32}) {
    layers.push_back({in, scaled(base, w), 2, 1});
    in = scaled(base, w);
  }
  return layers;
}

std::vector<Layer> stride1_tail(double w) {
  return {{scaled(32, w), scaled(16, w), 1, 0}, {scaled(16, w), 3, 1, 0}};
}

double median_ms(int runs, const std::function<void()>& f) {
  f();  // warm-up: first-call allocations, oneDNN primitive creation
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(1e3 * posefer::bench::seconds_since(t0));
  }
  return posefer::bench::median(ms);
}

struct Timing {
  double fwd = 0, fwd_bwd = 0;
};

// Times seq on input x: forward without autograd, then forward + backward into x and params.
Timing time_module(nn::Sequential& seq, const torch::Tensor& x, const torch::Tensor& grad_out,
                   int runs) {
  Timing t;
  t.fwd = median_ms(runs, [&] {
    torch::NoGradGuard no_grad;
    seq->forward(x);
  });
  auto xg = x.detach().requires_grad_(true);
  t.fwd_bwd = median_ms(runs, [&] {
    for (auto& p : seq->parameters()) p.mutable_grad() = torch::Tensor();
    xg.mutable_grad() = torch::Tensor();
    seq->forward(xg).backward(grad_out);
  });
  return t;
}

nn::Sequential make_plain_stack(const std::vector<Layer>& layers) {
  nn::Sequential seq;
  for (const auto& l : layers) {
    seq->push_back(nn::ConvTranspose2d(l.options()));
    seq->push_back(nn::ReLU());
  }
  return seq;
}

nn::Sequential make_fast_stack(const std::vector<Layer>& layers, posefer::DeconvRoute route) {
  nn::Sequential seq;
  for (const auto& l : layers) {
    seq->push_back(posefer::FastConvTranspose2d(l.options(), /*fast=*/true, route));
    seq->push_back(nn::ReLU());
  }
  return seq;
}

void copy_parameters(nn::Module& from, nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(src[p.key()]);
}

void print_row(int n, double w, const std::string& part, const Timing& plain, const Timing& fast,
               const std::vector<std::pair<std::string, Timing>>& extra = {}) {
  std::printf("%4d %5.2f  %-22s %9.1f %9.1f %6.2fx   %9.1f %9.1f %6.2fx", n, w, part.c_str(),
              plain.fwd, fast.fwd, plain.fwd / fast.fwd, plain.fwd_bwd, fast.fwd_bwd,
              plain.fwd_bwd / fast.fwd_bwd);
  for (const auto& e : extra) {
    std::printf("   %s %6.1f / %6.1f", e.first.c_str(), e.second.fwd, e.second.fwd_bwd);
  }
  std::printf("\n");
  std::fflush(stdout);
}

using LayerFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& weight,
                                            const torch::Tensor& bias)>;

// Times one layer function with its own leaf weight/bias: forward, forward + backward.
Timing time_layer(const LayerFn& f, const torch::Tensor& x, const torch::Tensor& weight,
                  const torch::Tensor& bias, const torch::Tensor& grad_out, int runs) {
  Timing t;
  t.fwd = median_ms(runs, [&] {
    torch::NoGradGuard no_grad;
    f(x, weight, bias);
  });
  auto xg = x.detach().requires_grad_(true);
  auto wg = weight.detach().requires_grad_(true);
  auto bg = bias.detach().requires_grad_(true);
  t.fwd_bwd = median_ms(runs, [&] {
    for (auto* v : {&xg, &wg, &bg}) v->mutable_grad() = torch::Tensor();
    f(xg, wg, bg).backward(grad_out);
  });
  return t;
}

// One layer by every route: plain conv_transpose2d, the default polyphase (as the module runs
// it), then each polyphase layout forced and the GEMM + col2im route, as a profile.
void bench_layer(const Options& o, int n, double w, const Layer& l, int64_t side) {
  const int64_t s = l.stride;
  const int64_t pad = 2;
  const int64_t op = l.output_padding;
  auto x = torch::randn({o.batch, l.cin, side, side});
  if (o.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto weight = torch::randn({l.cin, l.cout, 5, 5}).mul_(0.05);
  const auto bias = torch::randn({l.cout});
  auto grad_out = torch::randn({o.batch, l.cout, s * side, s * side});
  if (o.channels_last) grad_out = grad_out.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto time = [&](const LayerFn& f) {
    return time_layer(f, x, weight, bias, grad_out, o.runs);
  };
  using T = torch::Tensor;
  const auto layout = [&](bool fused) {
    return time([&, fused](const T& a, const T& wt, const T& b) {
      const auto plan = posefer::make_polyphase_plan(l.cin, l.cout, 5, s, pad, op, fused);
      return posefer::polyphase_forward(plan, a, wt, b);
    });
  };
  const auto plain = time([&](const T& a, const T& wt, const T& b) {
    return torch::conv_transpose2d(a, wt, b, s, pad, op);
  });
  const auto poly = time([&](const T& a, const T& wt, const T& b) {
    return posefer::conv_transpose2d_polyphase(a, wt, b, s, pad, op);
  });
  std::vector<std::pair<std::string, Timing>> extra;
  if (s == 2) {
    extra.emplace_back("split", layout(false));
    extra.emplace_back("fused", layout(true));
  }
  extra.emplace_back("gemm", time([&](const T& a, const T& wt, const T& b) {
    return posefer::conv_transpose2d_gemm(a, wt, b, s, pad, op);
  }));
  std::ostringstream name;
  name << "  " << l.cin << "->" << l.cout << " @" << side << (s == 2 ? " s2" : " s1");
  print_row(n, w, name.str(), plain, poly, extra);
}

void bench_part(const Options& o, int n, double w, const std::string& part,
                const std::vector<Layer>& layers, int64_t side) {
  torch::manual_seed(1);
  auto plain = make_plain_stack(layers);
  auto fast = make_fast_stack(layers, posefer::DeconvRoute::kPolyphase);
  // The same with the first layer on the GEMM route (wins only with a fast BLAS, see below).
  auto gemm_first = make_fast_stack(layers, posefer::DeconvRoute::kPolyphase);
  gemm_first[0]->as<posefer::FastConvTranspose2d>()->route = posefer::DeconvRoute::kGemm;
  copy_parameters(*plain, *fast);
  copy_parameters(*plain, *gemm_first);
  auto x = torch::randn({o.batch, layers.front().cin, side, side});
  if (o.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor grad_out;
  {
    torch::NoGradGuard no_grad;
    const auto y_plain = plain->forward(x);
    for (auto* seq : {&fast, &gemm_first}) {
      const auto y = (*seq)->forward(x);
      const double diff = (y_plain - y).abs().max().item<double>();
      if (!(diff < 1e-3 * std::max(1.0, y_plain.abs().max().item<double>()))) {
        std::fprintf(stderr, "bench_deconv: outputs differ by %g\n", diff);
        std::exit(1);
      }
    }
    grad_out = torch::randn(y_plain.sizes());
    if (o.channels_last) grad_out = grad_out.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  const auto t_plain = time_module(plain, x, grad_out, o.runs);
  const auto t_fast = time_module(fast, x, grad_out, o.runs);
  const auto t_gemm = time_module(gemm_first, x, grad_out, o.runs);
  print_row(n, w, part, t_plain, t_fast, {{"gemm-first", t_gemm}});

  if (!o.per_layer) return;
  int64_t s = side;
  for (const auto& l : layers) {
    bench_layer(o, n, w, l, s);
    s *= l.stride;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  at::set_num_threads(o.threads);
  std::printf("bench_deconv: threads %d, batch %d, median of %d runs after 1 warm-up (ms)\n",
              at::get_num_threads(), o.batch, o.runs);
  std::printf("%4s %5s  %-22s %9s %9s %7s   %9s %9s %7s\n", "N", "w", "part", "plain fwd",
              "poly fwd", "ratio", "plain f+b", "poly f+b", "ratio");
  try {
    for (int n : o.sizes) {
      for (double w : o.widths) {
        bench_part(o, n, w, "s2 stack (5 layers)", stride2_stack(w), n / 32);
        bench_part(o, n, w, "s1 tail (2 layers)", stride1_tail(w), n);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_deconv: %s\n", e.what());
    return 1;
  }
  return 0;
}
