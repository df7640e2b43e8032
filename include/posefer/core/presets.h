// Named training recipes for `posefer train --preset NAME` (flags given on top override them).
//
// A preset changes only the fields it names. fer2013 / genki / cmu: recipes on face-api's
// pretrained backbone whose choices were made on validation images, never on test images;
// paper: the paper's method, each remaining departure listed in docs/presets.md. --data is
// still the user's.
#pragma once

#include <string>
#include <vector>

#include "posefer/core/config.h"

namespace posefer {

// The preset names, in the order --help lists them.
std::vector<std::string> preset_names();

// One line on what preset `name` is for (for --help). Throws ConfigError for an unknown name.
std::string preset_summary(const std::string& name);

// Sets the fields preset `name` names in `config`. Throws ConfigError naming the valid presets
// for an unknown name. The result passes TrainConfig::validate().
void apply_preset(const std::string& name, TrainConfig& config);

}  // namespace posefer
