// One file of ~720 lines on purpose: the phase decomposition, its two layouts (fused, split), the
// fused interleave and their hand-written backward share one piece of index arithmetic (which
// output pixel each phase tap feeds); apart, each part would repeat it (deconv.h explains the op).
#include "posefer/model/deconv.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "posefer/core/check.h"

namespace posefer {

namespace {

using torch::indexing::Slice;

// Floor division / modulo that stay correct for negative numerators (C++ truncates).
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }
int64_t floor_mod(int64_t a, int64_t b) { return a - b * floor_div(a, b); }

// Output side of conv_transpose2d along one dimension.
int64_t transposed_side(const PolyphasePlan& plan, int64_t in_side) {
  return (in_side - 1) * plan.stride - 2 * plan.padding + plan.kernel + plan.output_padding;
}

// Both entries of a 2-D option must agree: the plan is one geometry for rows and columns.
int64_t square_option(const torch::ExpandingArray<2>& v, const char* what) {
  POSEFER_CHECK_CONFIG((*v)[0] == (*v)[1], "FastConvTranspose2d: ", what,
                       " must be the same for rows and columns, got ", v);
  return (*v)[0];
}

// Chunks of about this many elements per thread in the hand-written loops.
constexpr int64_t kGrainElements = 1 << 15;

constexpr int64_t kMaxPhases = 4;  // stride <= 2

// Where phase p's kernel takes its taps from: kernel element (o, i, t), t = ty * cols + tx, is
// w[i][o][tap[t]] (tap = ky * k + kx), or 0 where tap[t] = -1 (fused layout only).
struct PhaseTaps {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> tap;
};

std::vector<PhaseTaps> phase_taps(const PolyphasePlan& plan) {
  std::vector<PhaseTaps> out;
  for (const auto& ry : plan.residues) {
    for (const auto& rx : plan.residues) {
      PhaseTaps p;
      p.rows = ry.taps;
      p.cols = rx.taps;
      for (int64_t ky : ry.weight_rows) {
        for (int64_t kx : rx.weight_rows) {
          p.tap.push_back(ky < 0 || kx < 0 ? -1 : ky * plan.kernel + kx);
        }
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

// Where phase p's kernel (or its gradient) lives: element (o, i, t) at
// base + o * o_stride + i * rows * cols + t. Split: one tensor per phase; fused: phase p is the
// channel o * s*s + p of one [Cout * s*s, Cin, T, T] tensor.
template <typename scalar_t>
struct PhaseBuffer {
  scalar_t* base;
  int64_t o_stride;
};

template <typename scalar_t>
std::vector<PhaseBuffer<scalar_t>> phase_buffers(const std::vector<torch::Tensor>& tensors,
                                                 const std::vector<PhaseTaps>& taps, int64_t cin) {
  std::vector<PhaseBuffer<scalar_t>> out;
  const auto phases = static_cast<int64_t>(taps.size());
  for (int64_t p = 0; p < phases; ++p) {
    const int64_t n = taps[p].rows * taps[p].cols;
    if (tensors.size() == taps.size()) {
      out.push_back({tensors[p].data_ptr<scalar_t>(), cin * n});
    } else {
      out.push_back({tensors[0].data_ptr<scalar_t>() + p * cin * n, phases * cin * n});
    }
  }
  return out;
}

// Phase kernels from w [Cin, Cout, k*k]: each weight row w[i][o][*] is read once and spread
// over the phases. (Runs at the speed of a clone of the weight; tiling the (o, i) transpose
// measured no faster.)
template <typename scalar_t>
void scatter_phase_kernels(const scalar_t* w, const std::vector<PhaseBuffer<scalar_t>>& dst,
                           const std::vector<PhaseTaps>& taps, int64_t cin, int64_t cout,
                           int64_t kk) {
  const int64_t grain = std::max<int64_t>(1, kGrainElements / (cin * kk));
  at::parallel_for(0, cout, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      for (int64_t i = 0; i < cin; ++i) {
        const scalar_t* src = w + (i * cout + o) * kk;
        for (size_t p = 0; p < taps.size(); ++p) {
          const int64_t n = static_cast<int64_t>(taps[p].tap.size());
          const int64_t* tap = taps[p].tap.data();
          scalar_t* out = dst[p].base + o * dst[p].o_stride + i * n;
          for (int64_t t = 0; t < n; ++t) out[t] = tap[t] >= 0 ? src[tap[t]] : scalar_t(0);
        }
      }
    }
  });
}

// The adjoint: every weight tap sits in exactly one (phase, t), so grad_w is written once, in
// order, and the zero taps' gradients are dropped.
template <typename scalar_t>
void gather_weight_grad(const std::vector<PhaseBuffer<scalar_t>>& grads,
                        const std::vector<PhaseTaps>& taps, scalar_t* grad_w, int64_t cin,
                        int64_t cout, int64_t kk) {
  const int64_t grain = std::max<int64_t>(1, kGrainElements / (cout * kk));
  at::parallel_for(0, cin, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t o = 0; o < cout; ++o) {
        scalar_t* dst = grad_w + (i * cout + o) * kk;
        for (size_t p = 0; p < taps.size(); ++p) {
          const int64_t n = static_cast<int64_t>(taps[p].tap.size());
          const int64_t* tap = taps[p].tap.data();
          const scalar_t* src = grads[p].base + o * grads[p].o_stride + i * n;
          for (int64_t t = 0; t < n; ++t) {
            if (tap[t] >= 0) dst[tap[t]] = src[t];
          }
        }
      }
    }
  });
}

// Differentiable phase kernels on any device: slice + flip the weight with index_select (a
// zero row/column appended for the fused layout's zero taps).
std::vector<torch::Tensor> phase_kernels_reference(const PolyphasePlan& plan,
                                                   const torch::Tensor& weight) {
  const auto padded = torch::constant_pad_nd(weight.transpose(0, 1), {0, 1, 0, 1});
  std::vector<torch::Tensor> out;
  for (const auto& rows : plan.row_index) {
    const auto sliced = padded.index_select(2, rows);
    for (const auto& cols : plan.row_index) out.push_back(sliced.index_select(3, cols));
  }
  if (!plan.fused) return out;
  const int64_t t = plan.residues[0].taps;
  return {torch::stack(out, 1).view({plan.out_channels * plan.stride * plan.stride,
                                     plan.in_channels, t, t})};
}

std::vector<int64_t> flatten_taps(const std::vector<PhaseTaps>& taps) {
  std::vector<int64_t> flat;
  for (const auto& p : taps) {
    flat.push_back(p.rows);
    flat.push_back(p.cols);
    flat.insert(flat.end(), p.tap.begin(), p.tap.end());
  }
  return flat;
}

std::vector<PhaseTaps> unflatten_taps(const std::vector<int64_t>& flat) {
  std::vector<PhaseTaps> taps;
  for (size_t at = 0; at < flat.size();) {
    PhaseTaps p;
    p.rows = flat[at];
    p.cols = flat[at + 1];
    const auto first = flat.begin() + static_cast<std::ptrdiff_t>(at + 2);
    p.tap.assign(first, first + p.rows * p.cols);
    at += 2 + static_cast<size_t>(p.rows * p.cols);
    taps.push_back(std::move(p));
  }
  return taps;
}

// weight [Cin, Cout, k, k] -> phase kernels on the CPU by hand-written scatter / gather. Built
// from tensor ops instead (index_put_ and its autograd backward, an earlier version), G_dec's
// first layer at w = 1 spent ~150 ms forward and ~1 s backward there, more than in its conv.
struct PhaseKernelsFunction : public torch::autograd::Function<PhaseKernelsFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                torch::Tensor weight, const PolyphasePlan* plan) {
    const int64_t cin = weight.size(0);
    const int64_t cout = weight.size(1);
    const int64_t kk = weight.size(2) * weight.size(3);
    const auto taps = phase_taps(*plan);
    const auto w = weight.contiguous();
    torch::autograd::variable_list kernels;
    if (plan->fused) {
      const int64_t t = plan->residues[0].taps;
      kernels.push_back(torch::empty({cout * static_cast<int64_t>(taps.size()), cin, t, t},
                                     weight.options()));
    } else {
      for (const auto& p : taps) {
        kernels.push_back(torch::empty({cout, cin, p.rows, p.cols}, weight.options()));
      }
    }
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, weight.scalar_type(),
                                    "scatter_phase_kernels", [&] {
                                      scatter_phase_kernels<scalar_t>(
                                          w.data_ptr<scalar_t>(),
                                          phase_buffers<scalar_t>(kernels, taps, cin), taps, cin,
                                          cout, kk);
                                    });
    // By value: the plan need not outlive the graph (moving a module replaces it).
    ctx->saved_data["taps"] = flatten_taps(taps);
    ctx->saved_data["weight_sizes"] = weight.sizes().vec();
    return kernels;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto taps = unflatten_taps(ctx->saved_data["taps"].toIntVector());
    const auto sizes = ctx->saved_data["weight_sizes"].toIntVector();
    const int64_t cin = sizes[0];
    const int64_t cout = sizes[1];
    const int64_t kk = sizes[2] * sizes[3];
    const auto phases = static_cast<int64_t>(taps.size());
    const bool fused = grad_outputs.size() == 1 && phases > 1;
    torch::Tensor grad_w;
    if (torch::GradMode::is_enabled()) {
      // create_graph: the same gather as differentiable indexing (double backward); zero taps
      // land in an extra slot kk that is dropped.
      auto g = torch::zeros({cout, cin, kk + 1}, grad_outputs[0].options());
      for (int64_t p = 0; p < phases; ++p) {
        const int64_t n = taps[p].rows * taps[p].cols;
        std::vector<int64_t> idx(taps[p].tap);
        for (auto& v : idx) v = v < 0 ? kk : v;
        const auto values = fused ? grad_outputs[0].view({cout, phases, cin, n}).select(1, p)
                                  : grad_outputs[p].reshape({cout, cin, n});
        g.index_put_({Slice(), Slice(), torch::tensor(idx, torch::kLong).to(g.device())},
                     values);
      }
      grad_w = g.narrow(2, 0, kk).transpose(0, 1).reshape(sizes);
    } else {
      std::vector<torch::Tensor> grads;
      for (const auto& g : grad_outputs) grads.push_back(g.contiguous());
      grad_w = torch::empty(sizes, grads[0].options());
      AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad_w.scalar_type(),
                                      "gather_weight_grad", [&] {
                                        gather_weight_grad<scalar_t>(
                                            phase_buffers<scalar_t>(grads, taps, cin), taps,
                                            grad_w.data_ptr<scalar_t>(), cin, cout, kk);
                                      });
    }
    return {grad_w, torch::Tensor()};
  }
};

// weight [Cin, Cout, k, k] -> the phase kernels, differentiable w.r.t. weight: split, s*s
// tensors [Cout, Cin, taps_ry, taps_rx] (phase ry*s + rx); fused, one [Cout*s*s, Cin, T, T].
std::vector<torch::Tensor> phase_kernels(const PolyphasePlan& plan, const torch::Tensor& weight) {
  if (weight.device().is_cpu()) return PhaseKernelsFunction::apply(weight, &plan);
  return phase_kernels_reference(plan, weight);
}

// How the four stride-2 phase outputs fill the result [B, C, out_h, out_w]:
// result(Y, X) = phase (Y%2)*2 + X%2 at (crop[Y%2] + Y/2, crop[X%2] + X/2).
struct Interleave {
  std::array<int64_t, 2> crop;  // per residue; rows and columns share it (square geometry)
  int64_t out_h, out_w;
};

std::vector<int64_t> to_vector(const Interleave& g) {
  return {g.crop[0], g.crop[1], g.out_h, g.out_w};
}
Interleave from_vector(const std::vector<int64_t>& v) { return {{v[0], v[1]}, v[2], v[3]}; }

// Phase p of a fused conv output [B, 4C, H, W] (channel c*4 + p), as a view.
std::vector<torch::Tensor> fused_phases(const torch::Tensor& y) {
  const auto v = y.view({y.size(0), y.size(1) / kMaxPhases, kMaxPhases, y.size(2), y.size(3)});
  std::vector<torch::Tensor> out;
  for (int64_t p = 0; p < kMaxPhases; ++p) out.push_back(v.select(2, p));
  return out;
}

// The interleave as composable tensor ops (any device; differentiable, for double backward).
torch::Tensor interleave_reference(const std::vector<torch::Tensor>& y, const Interleave& g) {
  const int64_t mh = (g.out_h + 1) / 2;
  const int64_t mw = (g.out_w + 1) / 2;
  std::vector<torch::Tensor> parts;
  for (int64_t p = 0; p < kMaxPhases; ++p) {
    parts.push_back(y[p].narrow(2, g.crop[p / 2], mh).narrow(3, g.crop[p % 2], mw));
  }
  const int64_t b = parts[0].size(0);
  const int64_t c = parts[0].size(1);
  return torch::stack(parts, 2)
      .view({b, c, 2, 2, mh, mw})
      .permute({0, 1, 4, 2, 5, 3})
      .reshape({b, c, 2 * mh, 2 * mw})
      .narrow(2, 0, g.out_h)
      .narrow(3, 0, g.out_w)
      .contiguous();
}

// Its adjoint, phase by phase (zeros where the crop dropped phase outputs).
std::vector<torch::Tensor> deinterleave_reference(const torch::Tensor& grad, const Interleave& g,
                                                  const std::vector<int64_t>& phase_h,
                                                  const std::vector<int64_t>& phase_w) {
  const int64_t mh = (g.out_h + 1) / 2;
  const int64_t mw = (g.out_w + 1) / 2;
  const auto full = torch::constant_pad_nd(grad, {0, 2 * mw - g.out_w, 0, 2 * mh - g.out_h})
                        .view({grad.size(0), grad.size(1), mh, 2, mw, 2});
  std::vector<torch::Tensor> out;
  for (int64_t p = 0; p < kMaxPhases; ++p) {
    const int64_t cy = g.crop[p / 2];
    const int64_t cx = g.crop[p % 2];
    const auto part = full.select(5, p % 2).select(3, p / 2);  // [B, C, mh, mw]
    out.push_back(
        torch::constant_pad_nd(part, {cx, phase_w[p] - cx - mw, cy, phase_h[p] - cy - mh}));
  }
  return out;
}

// Where phase p's output plane (b, c) starts and how its rows are laid out.
template <typename scalar_t>
struct PhasePlane {
  scalar_t* base;
  int64_t plane_stride;  // elements between consecutive (b, c) planes
  int64_t width;         // row length
};

// One pass over the result rows: row Y interleaves row Y/2 of the two phases of parity Y%2.
// Replaces crop + pixel_shuffle (1.13's CPU pixel_shuffle and its backward cost ~5x a plain
// copy). to_result false runs the adjoint (result grad -> phase grads).
template <typename scalar_t>
void interleave_loop(const std::array<PhasePlane<scalar_t>, kMaxPhases>& y, scalar_t* out,
                     int64_t planes, const Interleave& g, bool to_result) {
  const int64_t rows = planes * g.out_h;
  const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, g.out_w));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t bc = row / g.out_h;
      const int64_t oy = row % g.out_h;
      scalar_t* out_row = out + row * g.out_w;
      for (int64_t rx = 0; rx < 2; ++rx) {
        const auto& ph = y[(oy % 2) * 2 + rx];
        scalar_t* y_row =
            ph.base + bc * ph.plane_stride + (g.crop[oy % 2] + oy / 2) * ph.width + g.crop[rx];
        const int64_t n_cols = (g.out_w - rx + 1) / 2;
        if (to_result) {
          for (int64_t n = 0; n < n_cols; ++n) out_row[2 * n + rx] = y_row[n];
        } else {
          for (int64_t n = 0; n < n_cols; ++n) y_row[n] = out_row[2 * n + rx];
        }
      }
    }
  });
}

// Phase planes of `phases` (4 tensors [B, C, h_p, w_p], or 1 fused [B, 4C, H, W]).
template <typename scalar_t>
std::array<PhasePlane<scalar_t>, kMaxPhases> phase_planes(
    const std::vector<torch::Tensor>& phases) {
  std::array<PhasePlane<scalar_t>, kMaxPhases> out;
  for (int64_t p = 0; p < kMaxPhases; ++p) {
    if (phases.size() == 1) {
      const auto& y = phases[0];
      out[p] = {y.data_ptr<scalar_t>() + p * y.size(2) * y.size(3),
                kMaxPhases * y.size(2) * y.size(3), y.size(3)};
    } else {
      const auto& y = phases[p];
      out[p] = {y.data_ptr<scalar_t>(), y.size(2) * y.size(3), y.size(3)};
    }
  }
  return out;
}

torch::Tensor interleave_forward(const std::vector<torch::Tensor>& phases, const Interleave& g) {
  std::vector<torch::Tensor> y;
  for (const auto& t : phases) y.push_back(t.contiguous());
  const int64_t planes = y[0].size(0) * (phases.size() == 1 ? y[0].size(1) / kMaxPhases
                                                            : y[0].size(1));
  auto out = torch::empty({y[0].size(0), planes / y[0].size(0), g.out_h, g.out_w}, y[0].options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(), "interleave", [&] {
    interleave_loop<scalar_t>(phase_planes<scalar_t>(y), out.data_ptr<scalar_t>(), planes, g,
                              /*to_result=*/true);
  });
  return out;
}

// grads: tensors shaped like the phase outputs, filled from the result's gradient.
void deinterleave_into(std::vector<torch::Tensor>& grads, const torch::Tensor& grad,
                       const Interleave& g) {
  const auto gc = grad.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, gc.scalar_type(), "deinterleave", [&] {
    interleave_loop<scalar_t>(phase_planes<scalar_t>(grads),
                              const_cast<scalar_t*>(gc.data_ptr<scalar_t>()),
                              gc.size(0) * gc.size(1), g, /*to_result=*/false);
  });
}

// Whether the result covers every element of a phase output [.., h, w] of parity (ry, rx), so
// its gradient needs no zero fill.
bool covers(const Interleave& g, int64_t ry, int64_t rx, int64_t h, int64_t w) {
  return g.crop[ry] == 0 && g.crop[rx] == 0 && h == (g.out_h - ry + 1) / 2 &&
         w == (g.out_w - rx + 1) / 2;
}

struct InterleaveSplitFunction : public torch::autograd::Function<InterleaveSplitFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor y0,
                               torch::Tensor y1, torch::Tensor y2, torch::Tensor y3,
                               std::vector<int64_t> geometry) {
    const std::vector<torch::Tensor> y{y0, y1, y2, y3};
    std::vector<int64_t> sizes;
    for (const auto& t : y) sizes.insert(sizes.end(), {t.size(2), t.size(3)});
    ctx->saved_data["geometry"] = geometry;
    ctx->saved_data["sizes"] = sizes;
    return interleave_forward(y, from_vector(geometry));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto g = from_vector(ctx->saved_data["geometry"].toIntVector());
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto& grad = grad_outputs[0];
    std::vector<int64_t> h, w;
    for (int64_t p = 0; p < kMaxPhases; ++p) {
      h.push_back(sizes[2 * p]);
      w.push_back(sizes[2 * p + 1]);
    }
    std::vector<torch::Tensor> grads;
    if (torch::GradMode::is_enabled()) {
      grads = deinterleave_reference(grad, g, h, w);
    } else {
      for (int64_t p = 0; p < kMaxPhases; ++p) {
        const std::vector<int64_t> shape{grad.size(0), grad.size(1), h[p], w[p]};
        grads.push_back(covers(g, p / 2, p % 2, h[p], w[p])
                            ? torch::empty(shape, grad.options())
                            : torch::zeros(shape, grad.options()));
      }
      deinterleave_into(grads, grad, g);
    }
    return {grads[0], grads[1], grads[2], grads[3], torch::Tensor()};
  }
};

struct InterleaveFusedFunction : public torch::autograd::Function<InterleaveFusedFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor y,
                               std::vector<int64_t> geometry) {
    ctx->saved_data["geometry"] = geometry;
    ctx->saved_data["sizes"] = y.sizes().vec();
    return interleave_forward({y}, from_vector(geometry));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto g = from_vector(ctx->saved_data["geometry"].toIntVector());
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto& grad = grad_outputs[0];
    torch::Tensor grad_y;
    if (torch::GradMode::is_enabled()) {
      const std::vector<int64_t> h(kMaxPhases, sizes[2]), w(kMaxPhases, sizes[3]);
      grad_y = torch::stack(deinterleave_reference(grad, g, h, w), 2).view(sizes);
    } else {
      bool all = true;
      for (int64_t p = 0; p < kMaxPhases; ++p) {
        all = all && covers(g, p / 2, p % 2, sizes[2], sizes[3]);
      }
      grad_y = all ? torch::empty(sizes, grad.options()) : torch::zeros(sizes, grad.options());
      std::vector<torch::Tensor> target{grad_y};
      deinterleave_into(target, grad, g);
    }
    return {grad_y, torch::Tensor()};
  }
};

void check_operands(const PolyphasePlan& plan, const torch::Tensor& x, const torch::Tensor& weight,
                    const torch::Tensor& bias) {
  const int64_t cin = plan.in_channels;
  const int64_t cout = plan.out_channels;
  const int64_t k = plan.kernel;
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == cin,
                      "FastConvTranspose2d: expected input [B, ", cin, ", H, W], got ", x.sizes());
  POSEFER_CHECK_SHAPE(weight.dim() == 4 && weight.size(0) == cin && weight.size(1) == cout &&
                          weight.size(2) == k && weight.size(3) == k,
                      "FastConvTranspose2d: expected weight [", cin, ", ", cout, ", ", k, ", ", k,
                      "], got ", weight.sizes());
  POSEFER_CHECK_SHAPE(!bias.defined() || (bias.dim() == 1 && bias.size(0) == cout),
                      "FastConvTranspose2d: expected bias [", cout, "], got ", bias.sizes());
  POSEFER_CHECK_SHAPE(transposed_side(plan, x.size(2)) > 0 && transposed_side(plan, x.size(3)) > 0,
                      "FastConvTranspose2d: input ", x.sizes(), " gives an empty output");
}

PolyphasePlan plan_for_weight(const torch::Tensor& weight, int64_t stride, int64_t padding,
                              int64_t output_padding, const char* who) {
  POSEFER_CHECK_SHAPE(weight.dim() == 4 && weight.size(2) == weight.size(3), who,
                      ": expected weight [Cin, Cout, k, k], got ", weight.sizes());
  return make_polyphase_plan(weight.size(0), weight.size(1), weight.size(2), stride, padding,
                             output_padding)
      .to(weight.device());
}

// GEMM + col2im route; operands already checked against `plan`.
torch::Tensor gemm_forward(const PolyphasePlan& plan, const torch::Tensor& x,
                           const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t b = x.size(0);
  const int64_t h = x.size(2);
  const int64_t w = x.size(3);
  const int64_t k = plan.kernel;
  const int64_t cols_per_pixel = plan.out_channels * k * k;
  // Every input pixel of every sample is one GEMM row: the weight is read once, not per sample.
  auto rows = x.permute({0, 2, 3, 1}).reshape({b * h * w, plan.in_channels});
  auto cols = torch::mm(rows, weight.reshape({plan.in_channels, cols_per_pixel}));
  auto y = torch::nn::functional::fold(
      cols.view({b, h * w, cols_per_pixel}).transpose(1, 2),
      torch::nn::functional::FoldFuncOptions(
          {transposed_side(plan, h), transposed_side(plan, w)}, {k, k})
          .padding(plan.padding)
          .stride(plan.stride));
  if (bias.defined()) y.add_(bias.view({1, -1, 1, 1}));  // fold's output is ours: no copy
  return y;
}

}  // namespace

PolyphasePlan PolyphasePlan::to(const torch::Device& device) const {
  PolyphasePlan p = *this;
  for (auto& t : p.row_index) t = t.to(device);
  return p;
}

PolyphasePlan make_polyphase_plan(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                  int64_t stride, int64_t padding, int64_t output_padding) {
  return make_polyphase_plan(in_channels, out_channels, kernel, stride, padding, output_padding,
                             stride > 1 && out_channels < kSplitMinOutChannels);
}

PolyphasePlan make_polyphase_plan(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                  int64_t stride, int64_t padding, int64_t output_padding,
                                  bool fused) {
  POSEFER_CHECK_CONFIG(in_channels > 0 && out_channels > 0,
                       "FastConvTranspose2d: channel counts must be positive, got in ",
                       in_channels, ", out ", out_channels);
  POSEFER_CHECK_CONFIG(stride == 1 || stride == 2,
                       "FastConvTranspose2d: stride must be 1 or 2, got ", stride);
  // k < s would leave a phase without taps (bias-only output rows): not worth a special case.
  POSEFER_CHECK_CONFIG(kernel >= stride, "FastConvTranspose2d: kernel size must be >= stride, got ",
                       kernel, " with stride ", stride);
  POSEFER_CHECK_CONFIG(padding >= 0, "FastConvTranspose2d: padding must be >= 0, got ", padding);
  POSEFER_CHECK_CONFIG(output_padding >= 0 && output_padding < stride,
                       "FastConvTranspose2d: output_padding must be in [0, stride), got ",
                       output_padding, " with stride ", stride);

  PolyphasePlan plan;
  plan.in_channels = in_channels;
  plan.out_channels = out_channels;
  plan.kernel = kernel;
  plan.stride = stride;
  plan.padding = padding;
  plan.output_padding = output_padding;
  plan.fused = fused && stride > 1;
  // Each residue class has ceil(out / s) = H + side_delta rows.
  plan.side_delta = ceil_div(kernel + output_padding - 2 * padding - stride, stride);

  // Output row s*m + r takes weight row ky from input row m + d, d = (r + p - ky) / s, for the
  // ky = r + p (mod s). Per residue: its d range; fused: the union over residues.
  std::vector<int64_t> d_lo(stride, std::numeric_limits<int64_t>::max());
  std::vector<int64_t> d_hi(stride, std::numeric_limits<int64_t>::min());
  for (int64_t ky = 0; ky < kernel; ++ky) {
    const int64_t r = floor_mod(ky - padding, stride);
    const int64_t d = (r + padding - ky) / stride;  // exact by the choice of r
    d_lo[r] = std::min(d_lo[r], d);
    d_hi[r] = std::max(d_hi[r], d);
  }
  if (plan.fused) {
    const int64_t lo = *std::min_element(d_lo.begin(), d_lo.end());
    const int64_t hi = *std::max_element(d_hi.begin(), d_hi.end());
    std::fill(d_lo.begin(), d_lo.end(), lo);
    std::fill(d_hi.begin(), d_hi.end(), hi);
  }
  for (int64_t r = 0; r < stride; ++r) {
    PolyphasePlan::Residue res;
    res.taps = d_hi[r] - d_lo[r] + 1;
    // Conv (correlation) order: tap t reads input row m + d_lo + t, so ky falls as t rises
    // (the flip); rows outside the kernel or of another residue are zero taps.
    std::vector<int64_t> index;
    for (int64_t t = 0; t < res.taps; ++t) {
      const int64_t ky = r + padding - stride * (d_lo[r] + t);
      const bool valid = ky >= 0 && ky < kernel;
      res.weight_rows.push_back(valid ? ky : -1);
      index.push_back(valid ? ky : kernel);  // row k of the reference path's padded weight
    }
    // Conv output j reads input j + t - P, so row m sits at j = m + P + d_lo: left padding
    // -d_lo, right padding from the H + side_delta rows. conv2d pads symmetrically: take the
    // larger and crop.
    const int64_t pad_left = -d_lo[r];
    const int64_t pad_right = plan.side_delta - pad_left + res.taps - 1;
    res.conv_padding = std::max<int64_t>({pad_left, pad_right, 0});
    res.crop = res.conv_padding - pad_left;
    plan.row_index.push_back(torch::tensor(index, torch::kLong));
    plan.residues.push_back(std::move(res));
  }
  return plan;
}

torch::Tensor polyphase_forward(const PolyphasePlan& plan, const torch::Tensor& x,
                                const torch::Tensor& weight, const torch::Tensor& bias) {
  check_operands(plan, x, weight, bias);
  const auto kernels = phase_kernels(plan, weight);
  const int64_t s = plan.stride;
  const Interleave g{{plan.residues[0].crop, plan.residues[s - 1].crop},
                     transposed_side(plan, x.size(2)), transposed_side(plan, x.size(3))};
  std::vector<torch::Tensor> y;
  if (plan.fused) {
    const int64_t pad = plan.residues[0].conv_padding;
    torch::Tensor phase_bias;
    if (bias.defined()) {
      phase_bias = bias.unsqueeze(1).expand({plan.out_channels, s * s}).reshape({-1});
    }
    y.push_back(
        torch::conv2d(x, kernels[0], phase_bias, /*stride=*/{1, 1}, /*padding=*/{pad, pad}));
  } else {
    for (int64_t ry = 0; ry < s; ++ry) {
      for (int64_t rx = 0; rx < s; ++rx) {
        const int64_t pad_h = plan.residues[ry].conv_padding;
        const int64_t pad_w = plan.residues[rx].conv_padding;
        y.push_back(torch::conv2d(x, kernels[ry * s + rx], bias, /*stride=*/{1, 1},
                                  /*padding=*/{pad_h, pad_w}));
      }
    }
  }
  if (s == 1) {
    const int64_t crop = g.crop[0];
    if (crop == 0 && y[0].size(2) == g.out_h && y[0].size(3) == g.out_w) return y[0];
    return y[0].narrow(2, crop, g.out_h).narrow(3, crop, g.out_w).contiguous();
  }
  if (x.device().is_cpu()) {
    return plan.fused ? InterleaveFusedFunction::apply(y[0], to_vector(g))
                      : InterleaveSplitFunction::apply(y[0], y[1], y[2], y[3], to_vector(g));
  }
  return interleave_reference(plan.fused ? fused_phases(y[0]) : y, g);
}

torch::Tensor conv_transpose2d_polyphase(const torch::Tensor& x, const torch::Tensor& weight,
                                         const torch::Tensor& bias, int64_t stride,
                                         int64_t padding, int64_t output_padding) {
  const auto plan =
      plan_for_weight(weight, stride, padding, output_padding, "conv_transpose2d_polyphase");
  return polyphase_forward(plan, x, weight, bias);
}

torch::Tensor conv_transpose2d_gemm(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, int64_t stride, int64_t padding,
                                    int64_t output_padding) {
  const auto plan =
      plan_for_weight(weight, stride, padding, output_padding, "conv_transpose2d_gemm");
  check_operands(plan, x, weight, bias);
  return gemm_forward(plan, x, weight, bias);
}

FastConvTranspose2dImpl::FastConvTranspose2dImpl(const torch::nn::ConvTranspose2dOptions& options_,
                                                 bool fast_, DeconvRoute route_)
    : options(options_), fast(fast_), route(route_) {
  reset();
}

void FastConvTranspose2dImpl::reset() {
  POSEFER_CHECK_CONFIG(options.groups() == 1, "FastConvTranspose2d: groups must be 1, got ",
                       options.groups());
  POSEFER_CHECK_CONFIG((*options.dilation())[0] == 1 && (*options.dilation())[1] == 1,
                       "FastConvTranspose2d: dilation must be 1, got ", options.dilation());
  const std::string mode = torch::enumtype::get_enum_name(options.padding_mode());
  POSEFER_CHECK_CONFIG(mode == "kZeros", "FastConvTranspose2d: padding mode must be kZeros, got ",
                       mode);
  const int64_t k = square_option(options.kernel_size(), "kernel_size");
  plan_ = make_polyphase_plan(options.in_channels(), options.out_channels(), k,
                              square_option(options.stride(), "stride"),
                              square_option(options.padding(), "padding"),
                              square_option(options.output_padding(), "output_padding"));

  // Same names, shapes and registration as torch::nn::ConvTranspose2dImpl.
  weight = register_parameter(
      "weight", torch::empty({options.in_channels(), options.out_channels(), k, k}));
  if (options.bias()) {
    bias = register_parameter("bias", torch::empty({options.out_channels()}));
  } else {
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  reset_parameters();
}

void FastConvTranspose2dImpl::reset_parameters() {
  torch::nn::init::kaiming_uniform_(weight, /*a=*/std::sqrt(5.0));
  if (bias.defined()) {
    const auto fans = torch::nn::init::_calculate_fan_in_and_fan_out(weight);
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::get<0>(fans)));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

torch::Tensor FastConvTranspose2dImpl::forward(const torch::Tensor& x) {
  if (!fast) {
    return torch::conv_transpose2d(x, weight, bias, options.stride(), options.padding(),
                                   options.output_padding(), options.groups(),
                                   options.dilation());
  }
  // Index tensors follow the module to its device once, not on every call.
  if (plan_.row_index[0].device() != weight.device()) plan_ = plan_.to(weight.device());
  check_operands(plan_, x, weight, bias);
  if (route == DeconvRoute::kGemm) return gemm_forward(plan_, x, weight, bias);
  return polyphase_forward(plan_, x, weight, bias);
}

void FastConvTranspose2dImpl::pretty_print(std::ostream& stream) const {
  stream << "posefer::FastConvTranspose2d(" << options.in_channels() << ", "
         << options.out_channels() << ", kernel_size=" << options.kernel_size()
         << ", stride=" << options.stride() << ", padding=" << options.padding()
         << ", output_padding=" << options.output_padding()
         << ", bias=" << (options.bias() ? "true" : "false")
         << ", fast=" << (fast ? "true" : "false")
         << ", route=" << (route == DeconvRoute::kGemm ? "gemm" : "polyphase")
         << (plan_.fused ? " (fused)" : "") << ")";
}

}  // namespace posefer
