// The decoded image set of one run: every selected sample decoded, cropped and resized once,
// kept in memory as uint8 (4x smaller than float) and turned into [-1, 1] per batch.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/data/dataset.h"
#include "posefer/io/image_io.h"

namespace posefer {

struct ImageCacheOptions {
  int size = 64;                    // output side N
  int channels = 3;                 // 1 or 3
  CropMode crop = CropMode::kResize;
  double crop_fraction = 1.0;       // kCenter: side of the square crop relative to min(h, w)
  int threads = 0;                  // decoding threads (0 = hardware concurrency)
  bool progress = true;             // show a progress bar on stderr
  bool skip_unreadable = true;      // false: the first unreadable image throws InputError
};

// Images and labels of a subset of a Dataset, row i = sample indices[i].
struct ImageSet {
  torch::Tensor images;      // uint8 [M, C, N, N]
  torch::Tensor expression;  // int64 [M]
  torch::Tensor pose;        // int64 [M]
  torch::Tensor subject;     // int64 [M]: dense person ids (0..S-1, by first appearance in the set)
  std::vector<size_t> sample_index;  // index into Dataset::samples for each row
  std::vector<std::string> skipped;  // "path: reason" for images that failed to decode

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  // Rows `rows` (int64 [B]) as a float [-1,1] batch with labels.
  torch::Tensor batch_images(const torch::Tensor& rows) const;
};

// Decodes dataset.samples[indices] in parallel. Unreadable images are skipped and listed in
// ImageSet::skipped (or throw, see options). Throws InputError if nothing could be read.
ImageSet build_image_set(const Dataset& dataset, const std::vector<size_t>& indices,
                         const ImageCacheOptions& options);

}  // namespace posefer
