// The generator G = G_dec(G_enc(x), e, p) of the joint model (paper §3, Fig. 2).
//
// G_enc: x float [B, C, N, N] in [-1, 1] -> identity code f(x) float [B, d] in (-1, 1) (tanh).
//   5 conv 5x5 stride 2 ('same') + ReLU, channels 64,128,256,512,1024 x gen_width, then FC -> d.
// G_dec: (f [B, d], expression int64 [B], pose int64 [B]) -> image float [B, C, N, N] in (-1, 1).
//   input = [f, signed one-hot expression tiled floor(d/E) times, pose tiled floor(d/2) times]
//   (g_codes "tiled"), or [f, 0/1 one-hot expression, 0/1 one-hot pose] (g_codes "onehot"),
//   FC -> 1024w x (N/32)^2 + ReLU, 5 transposed conv 5x5 stride 2 (512,256,128,64,32 x w) + ReLU
//   (upsample "resize": nearest x2 + conv 3x3 stride 1 instead, same channels),
//   transposed conv 5x5 stride 1 to 16w + ReLU, transposed conv 5x5 stride 1 to C + tanh.
// No batch norm in G (paper §4.2). Throws ShapeError on inputs of the wrong shape.
#pragma once

#include <torch/torch.h>

#include "posefer/core/config.h"

namespace posefer {

// Channel count `base` scaled by `width`, at least 4 (keeps tiny CPU models valid).
int64_t scaled_channels(int64_t base, double width);

struct EncoderImpl : torch::nn::Module {
  explicit EncoderImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  ModelConfig config;
  torch::nn::Sequential convs{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(Encoder);

struct DecoderImpl : torch::nn::Module {
  explicit DecoderImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& f, const torch::Tensor& expression,
                        const torch::Tensor& pose);
  // Length of the decoder's input vector [f, tiled e, tiled p].
  int64_t input_dim() const;

  ModelConfig config;
  int64_t expression_tiles = 1;
  int64_t pose_tiles = 1;
  int64_t base_side = 2;      // N / 32
  int64_t base_channels = 0;  // 1024 * w
  torch::nn::Linear fc{nullptr};
  torch::nn::Sequential deconvs{nullptr};
};
TORCH_MODULE(Decoder);

struct GeneratorImpl : torch::nn::Module {
  explicit GeneratorImpl(const ModelConfig& config);
  // G(x, e, p): reconstructs / transforms x to expression e and pose p.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& expression,
                        const torch::Tensor& pose);

  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
};
TORCH_MODULE(Generator);

// Initialises every conv/linear weight of `module` as the config says ("normal": N(0, 0.02),
// "he": Kaiming normal), biases to 0, batch-norm scales to 1.
void init_weights(torch::nn::Module& module, const std::string& scheme);

}  // namespace posefer
