// Transposed 2-D convolution computed as ordinary convolutions (polyphase / sub-pixel form).
//
// Why: Debian's CPU LibTorch 1.13 runs nn::ConvTranspose2d through per-sample GEMM + col2im
// (slow_conv_transpose2d), while nn::Conv2d runs on oneDNN. A stride-s transposed convolution
// equals s*s stride-1 convolutions ("phases"), one per output pixel parity (ry, rx), each with a
// sub-kernel sliced (and flipped) out of the transposed-conv weight; interleaving the phase
// outputs (pixel_shuffle(s)) gives exactly conv_transpose2d, on the fast conv path. Stride 1 is
// one phase: a plain conv with the flipped, transposed kernel.
//
// Two layouts of the phases, chosen per layer (kSplitMinOutChannels), both measured:
//   fused: ONE conv2d producing s*s*Cout channels, every phase kernel zero-padded to the union
//          tap window (3x3 for 5x5 stride 2 padding 2: 36 taps computed for 25 used);
//   split: s*s conv2d calls with exact kernels (3x3, 3x2, 2x3, 2x2 there). Less work, and
//          oneDNN's backward is far better at Cout than at 4*Cout outputs on tiny images
//          (G_dec's first layer: 2-2.5x less conv time forward + backward); but with few output
//          channels oneDNN's 16-wide channel blocks run half empty, where fused wins.
// Either way one fused loop writes the interleaved result (no pixel_shuffle copy).
//
// The phase kernels are rebuilt from the ConvTranspose2d-shaped weight on every forward (one
// scatter; its backward is the matching gather), so autograd returns gradients for that same
// weight tensor and checkpoints / state dicts are interchangeable with nn::ConvTranspose2d.
//
// Contract (the module and the free functions):
//   x      float or double [B, Cin, H, W] (any H, W >= 1; 4-D only)
//   weight [Cin, Cout, k, k]   (the nn::ConvTranspose2d layout)
//   bias   [Cout] or undefined
//   result [B, Cout, (H-1)s - 2p + k + op, (W-1)s - 2p + k + op], contiguous NCHW, equal to
//          torch::conv_transpose2d(x, weight, bias, s, p, op) up to float rounding.
// Supported: groups 1, dilation 1, zeros padding mode, square kernel k >= stride, stride 1 or 2,
// padding p >= 0 (same both sides), output_padding 0 <= op < stride. Anything else throws
// posefer::ConfigError at construction (for the free functions, at the call). A wrongly shaped
// x, weight or bias throws posefer::ShapeError. Gradients reach x, weight and bias; double
// backward (create_graph) works too. On the CPU the kernel scatter and the interleave are
// hand-written loops (at::parallel_for); elsewhere they fall back to index_select / stack
// (correct, not tuned).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <vector>

namespace posefer {

// Stride-2 layers with at least this many output channels run split, smaller ones fused.
// Measured on G_dec's layers (1 thread, batch 32), conv forward + backward split vs fused:
// Cout 512: 0.40-0.53x, 64-256: 0.55-1.03x, 32: 0.8-1.1x, 16: 1.05-1.1x, 8: 1.45-1.55x.
constexpr int64_t kSplitMinOutChannels = 32;

// Geometry of one polyphase transposed convolution, computed once from the options.
// Output row s*m + r (residue r) correlates input rows m + d over a window of d, with weight
// row ky = r + p - s*d; phase (ry, rx)'s kernel is [Cout, Cin, taps_ry, taps_rx] with element
// (o, i, ty, tx) = weight[i][o][weight_rows_ry[ty]][weight_rows_rx[tx]] (-1: a zero tap).
struct PolyphasePlan {
  struct Residue {
    int64_t taps = 0;                  // kernel side of the phase along this axis
    int64_t conv_padding = 0;          // symmetric zero padding of its conv
    int64_t crop = 0;                  // its first conv output row/col that is in the result
    std::vector<int64_t> weight_rows;  // ky of each tap in conv order (flipped); -1 = zero
  };
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t output_padding = 0;
  int64_t side_delta = 0;   // rows per residue class, ceil(out / s), minus input rows
  bool fused = false;       // one conv over s*s*Cout channels (all residues share the window)
  std::vector<Residue> residues;         // [stride]
  std::vector<torch::Tensor> row_index;  // [stride] weight_rows as int64 (-1 -> k), on device

  // The same plan with its index tensors on `device` (no copy when already there).
  PolyphasePlan to(const torch::Device& device) const;
};

// Validates the options and precomputes the plan; `fused` defaults to the measured choice
// (stride 2 and out_channels < kSplitMinOutChannels). Throws ConfigError for unsupported options.
PolyphasePlan make_polyphase_plan(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                  int64_t stride, int64_t padding, int64_t output_padding);
PolyphasePlan make_polyphase_plan(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                  int64_t stride, int64_t padding, int64_t output_padding,
                                  bool fused);

// Runs `plan` on x with the ConvTranspose2d-layout weight/bias (bias may be undefined).
// Throws ShapeError when x, weight or bias do not fit the plan.
torch::Tensor polyphase_forward(const PolyphasePlan& plan, const torch::Tensor& x,
                                const torch::Tensor& weight, const torch::Tensor& bias);

// torch::conv_transpose2d(x, weight, bias, stride, padding, output_padding) in polyphase form;
// builds the plan on every call (the module keeps it). Throws ConfigError / ShapeError.
torch::Tensor conv_transpose2d_polyphase(const torch::Tensor& x, const torch::Tensor& weight,
                                         const torch::Tensor& bias, int64_t stride,
                                         int64_t padding, int64_t output_padding);

// The same transposed convolution as ONE batched GEMM + col2im: x as [B*H*W, Cin] times the
// weight viewed as [Cin, Cout*k*k], overlap-added by fold(). Reads the weight once per call
// where LibTorch's slow path streams it once per sample. Its speed is the BLAS's: on this VM
// OpenBLAS misdetects the CPU and runs SSE3 "Prescott" kernels (see bench_deconv), and there it
// loses to polyphase; with OPENBLAS_CORETYPE=SkylakeX it wins on small, weight-heavy inputs
// (G_dec's first layer at N = 64, w = 1: 170 vs 326 ms forward + backward). Hence opt-in
// (DeconvRoute::kGemm). Same contract and errors as conv_transpose2d_polyphase.
torch::Tensor conv_transpose2d_gemm(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, int64_t stride, int64_t padding,
                                    int64_t output_padding);

// Which computation FastConvTranspose2d runs when fast = true.
enum class DeconvRoute {
  kPolyphase,  // conv_transpose2d_polyphase (default)
  kGemm,       // conv_transpose2d_gemm
};

// Drop-in for nn::ConvTranspose2d: same options, same parameter names and shapes ("weight"
// [Cin, Cout, k, k], "bias" [Cout]), same default initialisation. name() is
// "posefer::FastConvTranspose2dImpl", so name-based conv detection ("Conv") still matches, and
// Kaiming fan-in (size(1) * k * k = Cout * k * k) is computed as for nn::ConvTranspose2d.
// fast = false runs torch::conv_transpose2d itself (bit-identical to nn::ConvTranspose2d).
struct FastConvTranspose2dImpl : torch::nn::Cloneable<FastConvTranspose2dImpl> {
  explicit FastConvTranspose2dImpl(const torch::nn::ConvTranspose2dOptions& options,
                                   bool fast = true, DeconvRoute route = DeconvRoute::kPolyphase);

  // x [B, Cin, H, W] -> [B, Cout, H', W'] (see the contract above).
  torch::Tensor forward(const torch::Tensor& x);

  // (Re)creates weight, bias and the plan; called by the constructor and by clone().
  void reset() override;
  // nn::ConvTranspose2d's default init: kaiming_uniform_(a = sqrt(5)), bias U(+-1/sqrt(fan_in)).
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  torch::nn::ConvTranspose2dOptions options;
  bool fast = true;
  DeconvRoute route = DeconvRoute::kPolyphase;
  torch::Tensor weight;
  torch::Tensor bias;

 private:
  PolyphasePlan plan_;
};
TORCH_MODULE(FastConvTranspose2d);

}  // namespace posefer
