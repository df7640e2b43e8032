// Internal to the TF.js weight readers (faceapi_weights.cpp, tfjs_graph_model.cpp): one reader of
// the "weightsManifest" groups that both the layers-format manifests (face-api) and graph-model
// JSON files (human) carry.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "posefer/face/faceapi_weights.h"

namespace posefer {

// Reads every group {paths, weights} of `groups` (a JSON array; shard paths relative to
// `manifest_path`'s folder) into out.tensors. Throws InputError naming the file on a missing
// shard, an unsupported dtype, a byte count that differs from the manifest, or a duplicate name.
void read_weight_groups(const nlohmann::json& groups, const std::string& manifest_path,
                        FaceApiWeights& out);

}  // namespace posefer
