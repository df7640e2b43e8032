// Throughput of one full joint training step (Trainer::train_step past every warm-up: D_att,
// D_i, G with classifier feedback, extra G step, classifier on real + k = 1 generated faces),
// and of G_dec forward + backward alone, at a few image sizes.
//
// Usage: posefer_bench [--sizes 64,128] [--batch 32] [--runs 5] [--threads 0]
//                      [--gen-width 1] [--cls-width 0.5] [--off LIST] [--breakdown]
//                      [--precision fp32,bf16] [--cls-arch vgg19|faceapi|faceres] [--no-gan]
//                      [--upsample deconv|resize]
// Prints one row per size and precision: median / min / max img/s over `runs` timed steps after
// one warm-up step, the median G_dec forward + backward time, and the peak RSS of the process so
// far. --no-gan times C_exp's steps alone (k = 0), as the presets train; --cls-arch picks C_exp's
// layout (pretrained backbones at random weights: the speed is the same); --upsample G_dec's
// (config.h: resize does 1.44x the multiply-adds of the stride-2 layers).
// --off fast-deconv,skip-critic-grads turns speed-ups off (each gives the same
// results; see config.h). --breakdown then times each network's passes of one step alone (the
// profile behind the step time; the remainder is Adam, the losses and glue).
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "posefer/core/check.h"
#include "posefer/core/malloc_tuning.h"
#include "posefer/model/precision.h"
#include "posefer/train/trainer.h"

namespace {

struct Options {
  std::vector<int> sizes{64, 128};
  int batch = 32;
  int runs = 5;
  int threads = 0;
  double gen_width = 1.0;
  double cls_width = 0.5;
  bool fast_deconv = true;
  bool skip_critic_grads = true;
  bool breakdown = false;
  std::vector<std::string> precisions{"fp32"};
  std::string cls_arch = "vgg19";
  bool gan = true;
  std::string upsample = "deconv";
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "posefer_bench: %s\nusage: posefer_bench [--sizes 64,128] [--batch 32] [--runs 5] "
               "[--threads 0] [--gen-width 1] [--cls-width 0.5] [--off LIST] [--breakdown]\n"
               "       [--precision fp32,bf16] [--cls-arch vgg19|faceapi|faceres] [--no-gan] [--upsample deconv|resize]\n",
               why.c_str());
  std::exit(2);
}

double to_number(const std::string& flag, const std::string& s) {
  return posefer::bench::to_number("posefer_bench", flag, s);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (flag == "--breakdown") {
      o.breakdown = true;
      continue;
    }
    if (flag == "--no-gan") {
      o.gan = false;
      continue;
    }
    if (i + 1 >= argc) usage(flag + ": missing value");
    const std::string v = argv[++i];
    if (flag == "--sizes") {
      o.sizes.clear();
      std::stringstream ss(v);
      for (std::string item; std::getline(ss, item, ',');) {
        o.sizes.push_back(static_cast<int>(to_number(flag, item)));
      }
      if (o.sizes.empty()) usage("--sizes: empty list");
    } else if (flag == "--batch") {
      o.batch = static_cast<int>(to_number(flag, v));
    } else if (flag == "--runs") {
      o.runs = static_cast<int>(to_number(flag, v));
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(to_number(flag, v));
    } else if (flag == "--gen-width") {
      o.gen_width = to_number(flag, v);
    } else if (flag == "--cls-width") {
      o.cls_width = to_number(flag, v);
    } else if (flag == "--precision") {
      o.precisions.clear();
      std::stringstream ss(v);
      for (std::string item; std::getline(ss, item, ',');) {
        if (item != "fp32" && item != "bf16") usage("--precision: unknown item '" + item + "' (fp32, bf16)");
        o.precisions.push_back(item);
      }
      if (o.precisions.empty()) usage("--precision: empty list");
    } else if (flag == "--cls-arch") {
      if (v != "vgg19" && v != "faceapi" && v != "faceres") usage("--cls-arch: unknown '" + v + "' (vgg19, faceapi, faceres)");
      o.cls_arch = v;
    } else if (flag == "--upsample") {
      if (v != "deconv" && v != "resize") usage("--upsample: unknown '" + v + "' (deconv, resize)");
      o.upsample = v;
    } else if (flag == "--off") {
      std::stringstream ss(v);
      for (std::string item; std::getline(ss, item, ',');) {
        if (item == "fast-deconv") {
          o.fast_deconv = false;
        } else if (item == "skip-critic-grads") {
          o.skip_critic_grads = false;
        } else {
          usage("--off: unknown item '" + item + "' (fast-deconv, skip-critic-grads)");
        }
      }
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.batch < 2) usage("--batch must be >= 2");
  if (o.runs < 1) usage("--runs must be >= 1");
  if (o.threads < 0) usage("--threads must be >= 0");
  if (o.breakdown && !o.gan) usage("--breakdown profiles the joint step: not with --no-gan");
  return o;
}

using posefer::bench::median;
using posefer::bench::peak_rss_mib;
using posefer::bench::seconds_since;

// Median seconds of `fn` over `runs` calls after one warm-up call.
template <typename Fn>
double time_median(int runs, Fn&& fn) {
  fn();
  std::vector<double> s;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    s.push_back(seconds_since(t0));
  }
  return median(s);
}

// Each network's forward + backward passes of one joint step (Trainer::shard_step with k = 1,
// feedback and one extra G step), timed alone at the step's shapes in training mode. Passes
// through a net that the pass does not train get no weight gradients when skip_critic_grads.
void print_breakdown(posefer::JointModel& m, const posefer::TrainConfig& cfg, const torch::Tensor& x,
                     const torch::Tensor& e, const torch::Tensor& p, int runs, double step_s) {
  m.train();
  auto set_trainable = [](torch::nn::Module& net, bool on) {
    for (auto& q : net.parameters()) q.requires_grad_(on);
  };
  const bool skip = cfg.skip_critic_grads;
  const auto f = m.gen->encoder->forward(x).detach();
  struct Row {
    std::string part;
    int passes;
    double seconds;
  };
  std::vector<Row> rows;
  rows.push_back({"G_enc f+b (G steps)", 2, time_median(runs, [&] { m.gen->encoder->forward(x).sum().backward(); })});
  rows.push_back({"G_dec f+b (recon x2, feedback)", 3,
                  time_median(runs, [&] { m.gen->decoder->forward(f, e, p).sum().backward(); })});
  rows.push_back({"D_att f+b (D step: real, fake)", 2, time_median(runs, [&] { m.d_att->forward(x, e, p).sum().backward(); })});
  const auto xg = x.detach().clone().requires_grad_(true);
  if (skip) set_trainable(*m.d_att, false);
  rows.push_back({"D_att f+b to input (G steps)", 2, time_median(runs, [&] { m.d_att->forward(xg, e, p).sum().backward(); })});
  set_trainable(*m.d_att, true);
  const auto f2 = f.clone().requires_grad_(true);
  rows.push_back({"D_i f+b (D step x2, G steps x2)", 4, time_median(runs, [&] { m.d_i->forward(f2).sum().backward(); })});
  const auto x2 = torch::cat({x, x}, 0);
  rows.push_back({"C_exp f+b on real + generated", 1, time_median(runs, [&] { m.cls->forward(x2).expression.sum().backward(); })});
  if (skip) set_trainable(*m.cls, false);
  rows.push_back({"C_exp f+b to input (feedback)", 1, time_median(runs, [&] { m.cls->forward(xg).expression.sum().backward(); })});
  set_trainable(*m.cls, true);
  for (torch::nn::Module* net : m.nets()) net->zero_grad();
  std::printf("  profile at N = %lld (per pass: median of %d after 1 warm-up)\n", static_cast<long long>(x.size(2)), runs);
  std::printf("  %-34s %7s %10s %10s %7s\n", "part", "passes", "ms/pass", "ms/step", "share");
  double sum = 0;
  for (const auto& r : rows) {
    const double ms = 1e3 * r.seconds * r.passes;
    sum += ms;
    std::printf("  %-34s %7d %10.1f %10.1f %6.1f%%\n", r.part.c_str(), r.passes, 1e3 * r.seconds, ms, 100 * ms / (1e3 * step_s));
  }
  const double rest = 1e3 * step_s - sum;
  std::printf("  %-34s %7s %10s %10.1f %6.1f%%\n", "rest (Adam, losses, glue)", "", "", rest, 100 * rest / (1e3 * step_s));
  std::printf("  %-34s %7s %10s %10.1f\n\n", "step (median)", "", "", 1e3 * step_s);
}

std::vector<std::string> names(const char* prefix, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  // As posefer's main does (POSEFER_MALLOC_TUNING=0 measures glibc's defaults).
  const std::string malloc_note = posefer::apply_malloc_tuning();
  const Options o = parse(argc, argv);
  try {
    spdlog::set_level(spdlog::level::warn);
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    std::printf("posefer_bench: batch %d, %d run(s) after 1 warm-up, %d thread(s), gen_width %g, "
                "C_exp %s x %g, %s, all warm-ups done, CPU%s\n"
                "G_dec upsampling %s; speed-ups: fast_deconv %s, skip_critic_grads %s, malloc tuning %s\n\n",
                o.batch, o.runs, threads, o.gen_width, o.cls_arch.c_str(), o.cls_width,
                o.gan ? "k = 1, extra_g_steps 1" : "C_exp alone (--no-gan, k = 0)",
                posefer::cpu_has_native_bf16() ? " (with AVX512-BF16/AMX)" : " (no native bfloat16)",
                o.upsample.c_str(), o.fast_deconv ? "on" : "off", o.skip_critic_grads ? "on" : "off",
                malloc_note.empty() ? "off" : "on");
    std::printf("%5s  %9s  %10s  %9s  %9s  %9s  %14s  %9s  %12s\n", "N", "precision", "step ms", "img/s", "min",
                "max", "G_dec f+b ms", "G params", "peak RSS MiB");
    std::fflush(stdout);
    for (const int n : o.sizes) for (const auto& precision : o.precisions) {
      posefer::TrainConfig cfg;
      cfg.precision = precision;
      cfg.model.cls_arch = o.cls_arch;
      if (o.cls_arch != "vgg19") cfg.model.channels = 3;  // the pretrained backbones take RGB
      cfg.train_gan = o.gan;
      cfg.model.image_size = n;
      cfg.model.gen_width = o.gen_width;
      cfg.model.cls_width = o.cls_width;
      cfg.model.fast_deconv = o.fast_deconv;
      cfg.model.upsample = o.upsample;
      cfg.skip_critic_grads = o.skip_critic_grads;
      cfg.batch_size = o.batch;
      cfg.gen_k = o.gan ? 1 : 0;
      cfg.extra_g_steps = o.gan ? 1 : 0;
      cfg.device = "cpu";
      cfg.progress = false;
      cfg.threads = threads;
      posefer::Trainer trainer(cfg, "", names("e", cfg.model.num_expressions),
                               names("p", cfg.model.num_poses));
      const int64_t epoch = 1000;  // past gen_warmup and cls_feedback_warmup
      const auto& mc = cfg.model;
      auto x = torch::rand({o.batch, mc.channels, n, n}) * 2 - 1;
      auto e = torch::randint(0, mc.num_expressions, {o.batch}, torch::kInt64);
      auto p = torch::randint(0, mc.num_poses, {o.batch}, torch::kInt64);

      const auto warm = trainer.train_step(x, e, p, epoch);
      if (o.gan && (warm.c_gen <= 0 || warm.g_cls <= 0)) {
        std::fprintf(stderr, "posefer_bench: warm-ups still active (c_gen %g, g_cls %g)\n", warm.c_gen,
                     warm.g_cls);
        return 1;
      }
      std::vector<double> step_s;
      for (int r = 0; r < o.runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        trainer.train_step(x, e, p, epoch);
        step_s.push_back(seconds_since(t0));
      }

      // G_dec alone: forward + backward of a scalar, gradients accumulate (no optimiser step).
      auto& dec = trainer.model().gen->decoder;
      auto f = torch::rand({o.batch, mc.id_dim}) * 2 - 1;
      std::vector<double> dec_s;
      for (int r = 0; o.gan && r <= o.runs; ++r) {
        const posefer::PrecisionScope scope(precision, torch::kCPU);
        const auto t0 = std::chrono::steady_clock::now();
        dec->forward(f, e, p).mean().backward();
        if (r > 0) dec_s.push_back(seconds_since(t0));  // r = 0 is the warm-up
      }
      dec->zero_grad();
      if (dec_s.empty()) dec_s.push_back(0);  // --no-gan: G is not timed

      std::vector<double> ips;
      for (double s : step_s) ips.push_back(o.batch / s);
      const auto [lo, hi] = std::minmax_element(ips.begin(), ips.end());
      std::printf("%5d  %9s  %10.1f  %9.2f  %9.2f  %9.2f  %14.1f  %9lld  %12.0f\n", n, precision.c_str(), 1e3 * median(step_s),
                  median(ips), *lo, *hi, 1e3 * median(dec_s),
                  static_cast<long long>(trainer.model().parameter_count(*trainer.model().gen)),
                  peak_rss_mib());
      std::fflush(stdout);
      if (o.breakdown) print_breakdown(trainer.model(), cfg, x, e, p, o.runs, median(step_s));
    }
    std::printf("\nimg/s = real images per joint step / step time; peak RSS is the process maximum so far.\n");
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "posefer_bench: %s\n", posefer::first_line_of(ex.what()).c_str());
    return 1;
  }
  return 0;
}
