// Inference throughput of the expression classifier C_exp: aligned faces classified per second
// at batch 1 (one face at a time, e.g. video) and batch 64 (a folder of faces), eval mode under
// torch::InferenceMode, for N = 64 / 128 / 224 and each backbone (--cls-arch: vgg19 = the
// paper's VGG-19-BN x width; faceapi = face-api's pretrained face backbone, which resizes every
// face to 112 px inside, so its rate barely depends on N; faceres[:SIDE] = human's faceres
// MobileNet-v1, resizing to SIDE px inside, 112 by default).
//
// Usage: posefer_bench_infer [--sizes 64,128,224] [--archs vgg19,faceapi,faceres:112,faceres:128] [--cls-width 0.5] [--runs 5] [--threads 0]
// Prints per size and batch: median / min faces/s over `runs` timed repetitions (each repetition
// classifies at least 64 faces) after one warm-up, and the peak RSS so far.
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "posefer/core/blas_tuning.h"
#include "posefer/core/check.h"
#include "posefer/model/classifier.h"
#include "posefer/model/generator.h"

namespace {

constexpr const char* kProgram = "posefer_bench_infer";

struct Options {
  std::vector<int> sizes{64, 128, 224};
  std::vector<std::string> archs{"vgg19", "faceapi", "faceres:112", "faceres:128"};
  double cls_width = 0.5;
  int runs = 5;
  int threads = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "%s: %s\nusage: %s [--sizes 64,128,224] [--archs vgg19,faceapi,faceres:112] [--cls-width 0.5] [--runs 5] [--threads 0]\n",
               kProgram, why.c_str(), kProgram);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  using posefer::bench::to_number;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (i + 1 >= argc) usage(flag + ": missing value");
    const std::string v = argv[++i];
    if (flag == "--sizes") {
      o.sizes = posefer::bench::to_int_list(kProgram, flag, v);
    } else if (flag == "--archs") {
      o.archs.clear();
      for (size_t start = 0; start <= v.size();) {
        const size_t comma = std::min(v.find(',', start), v.size());
        o.archs.push_back(v.substr(start, comma - start));
        const std::string a = o.archs.back();
        if (a != "vgg19" && a != "faceapi" && a.rfind("faceres", 0) != 0) usage("--archs: unknown '" + a + "'");
        start = comma + 1;
      }
    } else if (flag == "--cls-width") {
      o.cls_width = to_number(kProgram, flag, v);
    } else if (flag == "--runs") {
      o.runs = static_cast<int>(to_number(kProgram, flag, v));
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(to_number(kProgram, flag, v));
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.runs < 1) usage("--runs must be >= 1");
  if (o.threads < 0) usage("--threads must be >= 0");
  for (int n : o.sizes) {
    if (n < 32 || n % 32 != 0) usage("--sizes: " + std::to_string(n) + " is not a multiple of 32");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(o.threads > 0 ? o.threads : cores);
    std::printf("%s: C_exp (vgg19: VGG-19-BN x %g; faceapi: face-api backbone at 112 px; faceres:S: human's faceres at S px; 7 expressions + 5 poses, "
                "3 channels), %d thread(s), median of %d run(s) after 1 warm-up, OpenBLAS kernels: %s\n",
                kProgram, o.cls_width, torch::get_num_threads(), o.runs, posefer::openblas_core().c_str());
    std::printf("%12s  %5s  %6s  %12s  %12s  %12s  %12s\n", "arch", "N", "batch", "faces/s", "min faces/s",
                "ms/batch", "peak RSS MiB");
    for (const auto& arch : o.archs) for (int n : o.sizes) {
      posefer::ModelConfig cfg;
      cfg.image_size = n;
      cfg.channels = 3;
      cfg.num_expressions = 7;
      cfg.num_poses = 5;
      cfg.cls_width = o.cls_width;
      cfg.cls_arch = arch.substr(0, arch.find(':'));
      if (arch.find(':') != std::string::npos) {
        cfg.backbone_side = static_cast<int>(posefer::bench::to_number(kProgram, "--archs", arch.substr(arch.find(':') + 1)));
      }
      torch::manual_seed(1);
      posefer::Classifier cls(cfg);
      posefer::init_weights(*cls, "he");
      cls->eval();
      for (int batch : {1, 64}) {
        auto x = torch::rand({batch, 3, n, n}) * 2 - 1;
        const int reps = std::max(1, 64 / batch);  // >= 64 faces per timed run
        auto run_once = [&] {
          torch::InferenceMode guard;
          for (int r = 0; r < reps; ++r) {
            auto out = cls->forward(x);
            (void)out.expression.argmax(1);
          }
        };
        run_once();  // warm-up (oneDNN primitive creation)
        std::vector<double> rates;
        for (int r = 0; r < o.runs; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          run_once();
          rates.push_back(static_cast<double>(batch * reps) / posefer::bench::seconds_since(t0));
        }
        const double med = posefer::bench::median(rates);
        std::printf("%12s  %5d  %6d  %12.1f  %12.1f  %12.2f  %12.0f\n", arch.c_str(), n, batch, med,
                    *std::min_element(rates.begin(), rates.end()), 1e3 * batch / med,
                    posefer::bench::peak_rss_mib());
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "%s: %s\n", kProgram, posefer::first_line_of(ex.what()).c_str());
    return 1;
  }
  return 0;
}
