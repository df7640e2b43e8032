// Weights of the face-api networks (TF.js layers format: `<model>-weights_manifest.json` + `.bin`
// shards), read into LibTorch tensors.
//
// The manifest is a JSON array of groups {paths: [shard, ...], weights: [{name, shape, dtype,
// quantization?}, ...]}; a group's tensors lie back to back in its shards (concatenated in order),
// row-major over the TF shape. uint8/uint16 quantised tensors become float32(q * scale + min);
// unquantised float32 (little-endian) and int32 are read as they are. The byte count the manifest
// implies must equal the shards' total size exactly, so a truncated or altered file is an
// InputError naming the file and the expected vs actual bytes.
//
// The weights come from the npm package @vladmandic/face-api@1.7.15 (MIT), which
// scripts/setup.sh installs into third_party/npm; they are never committed.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace posefer {

// The tensors of one manifest, by name, in their TF layout (float32).
struct FaceApiWeights {
  std::string manifest;                         // path of the manifest they came from
  std::map<std::string, torch::Tensor> tensors;  // name -> float32 tensor of the TF shape

  // The tensor `name`; throws InputError naming the manifest when it is missing or its shape
  // differs from `shape`.
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) const;
};

// Reads a weights manifest and its shards (paths relative to the manifest's folder).
// Throws InputError naming the file: missing/unreadable, malformed JSON, unsupported dtype or
// quantisation, or a byte count that differs from the manifest ("expected N bytes, found M").
FaceApiWeights load_faceapi_weights(const std::string& manifest_path);

// The manifest of model `name` (e.g. "tiny_face_detector_model") in `model_dir`.
std::string faceapi_manifest_path(const std::string& model_dir, const std::string& name);

// The default model folder: $POSEFER_MODELS when set and non-empty, else
// <source dir>/third_party/npm/node_modules/@vladmandic/face-api/model.
std::string default_faceapi_model_dir();

// TF -> LibTorch layouts.
// conv / pointwise filters [kh, kw, in, out] -> [out, in, kh, kw].
torch::Tensor tf_conv_filter_to_torch(const torch::Tensor& hwio);
// depthwise filters [kh, kw, C, M] -> [C * M, 1, kh, kw] (groups = C).
torch::Tensor tf_depthwise_filter_to_torch(const torch::Tensor& hwcm);
// dense weights [in, out] -> nn::Linear weight [out, in].
torch::Tensor tf_dense_to_torch(const torch::Tensor& in_out);

}  // namespace posefer
