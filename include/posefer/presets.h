// Named training recipes for `posefer train --preset NAME` (flags given on top override them).
//
// A preset changes only the fields it names; every choice in it (epochs, learning rates,
// augmentation) was made on a validation part, never on test images (docs/presets.md has the
// measurements and commands). Each preset's data layout is the one its name says; --data is
// still the user's.
#pragma once

#include <string>
#include <vector>

#include "posefer/config.h"

namespace posefer {

// The preset names, in the order --help lists them.
std::vector<std::string> preset_names();

// One line on what preset `name` is for (for --help). Throws ConfigError for an unknown name.
std::string preset_summary(const std::string& name);

// Sets the fields preset `name` names in `config`. Throws ConfigError naming the valid presets
// for an unknown name. The result passes TrainConfig::validate().
void apply_preset(const std::string& name, TrainConfig& config);

}  // namespace posefer
