#include "posefer/face/tfjs_graph_model.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "posefer/core/check.h"
#include "tfjs_weight_groups.h"

namespace posefer {

const TfjsGraphNode& TfjsGraphModel::node(const std::string& name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return n;
  }
  throw InputError(path + ": graph has no node '" + name + "'");
}

int TfjsGraphModel::count(const std::string& op) const {
  int c = 0;
  for (const auto& n : nodes) c += n.op == op;
  return c;
}

TfjsGraphModel load_tfjs_graph_model(const std::string& model_json) {
  using nlohmann::json;
  TfjsGraphModel out;
  out.path = model_json;
  out.weights.manifest = model_json;
  std::ifstream in(model_json);
  if (!in) throw InputError(model_json + ": cannot open graph model (run scripts/setup.sh, or pass --pretrained DIR)");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw InputError(model_json + ": malformed graph model JSON: " + e.what());
  }
  // json::value() throws a bare type_error when "format" is not a string (found by scripts/fuzz.sh):
  // read it only when it is one, so the error names the file.
  const std::string format = j.is_object() && j.contains("format") && j.at("format").is_string()
                                 ? j.at("format").get<std::string>()
                                 : std::string();
  POSEFER_CHECK_INPUT(format == "graph-model", model_json, ": not a TF.js graph model (format '", format, "')");
  try {
    POSEFER_CHECK_INPUT(j.contains("modelTopology") && j.at("modelTopology").contains("node") &&
                            j.contains("weightsManifest") && j.at("weightsManifest").is_array(),
                        model_json, ": graph model without modelTopology.node / weightsManifest");
    for (const json& n : j.at("modelTopology").at("node")) {
      TfjsGraphNode node;
      node.name = n.at("name").get<std::string>();
      node.op = n.at("op").get<std::string>();
      if (n.contains("input")) node.inputs = n.at("input").get<std::vector<std::string>>();
      out.nodes.push_back(std::move(node));
    }
  } catch (const json::exception& e) {
    throw InputError(model_json + ": malformed graph model: " + e.what());
  }
  read_weight_groups(j.at("weightsManifest"), model_json, out.weights);
  return out;
}

}  // namespace posefer
