// From a DataConfig to in-memory training/validation/test image sets: read the data set,
// split it, decode and resize every image once.
#pragma once

#include <string>

#include "posefer/config.h"
#include "posefer/dataset.h"
#include "posefer/image_cache.h"
#include "posefer/splits.h"

namespace posefer {

struct PreparedData {
  Dataset dataset;
  Split split;
  ImageSet train;  // empty when not requested
  ImageSet val;    // empty when the split has no validation part or not requested
  ImageSet test;   // empty when not requested
};

struct PrepareOptions {
  int image_size = 64;    // N
  int channels = 0;       // 0 = the data set's native channel count
  bool train = true;      // decode the training part
  bool test = true;       // decode the validation and test parts
  bool progress = true;
  int threads = 0;        // decoding threads (0 = cores)
};

// Throws InputError / ConfigError with the data spec as context.
PreparedData prepare_data(const DataConfig& data, const PrepareOptions& options);

// The crop mode a DataConfig resolves to for a data set kind ("auto": center for genki).
CropMode resolve_crop(const DataConfig& data, const std::string& kind);

}  // namespace posefer
