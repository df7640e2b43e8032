// A TF.js graph model (model.json with format "graph-model": a frozen TensorFlow graph and its
// weightsManifest), read into LibTorch tensors; the nets that use one (faceres_net.h) are written
// out by hand, and the graph's nodes are kept so that they can check the layout they expect.
//
// Weights: float32 / int32, or quantised (uint8 / uint16 with scale and min, float16) as in
// faceapi_weights.h; the shards must hold exactly the bytes the manifest implies.
#pragma once

#include <string>
#include <vector>

#include "posefer/face/faceapi_weights.h"

namespace posefer {

struct TfjsGraphNode {
  std::string name;                 // e.g. "conv_dw_1/depthwise"
  std::string op;                   // TF op, e.g. "DepthwiseConv2dNative"
  std::vector<std::string> inputs;  // input node names (":N" output suffixes kept)
};

struct TfjsGraphModel {
  std::string path;                  // the model.json it came from
  std::vector<TfjsGraphNode> nodes;  // modelTopology.node, in file order
  FaceApiWeights weights;            // the graph's constants, by node name (TF layouts)

  // The node `name`; throws InputError naming the file when it is absent.
  const TfjsGraphNode& node(const std::string& name) const;
  // How many nodes run `op`.
  int count(const std::string& op) const;
};

// Reads `model_json` and the shards it names (relative to its folder). Throws InputError naming
// the file when it is missing, not JSON, not a graph model, or its weights are malformed.
TfjsGraphModel load_tfjs_graph_model(const std::string& model_json);

}  // namespace posefer
