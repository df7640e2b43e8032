// Run identity: what a checkpoint records so that `train --resume` continues exactly the run it
// names. Two parts:
//  - the config schema version: a field that a run's stored config lacks (it was written by an
//    older posefer) is never silently filled with today's default when training goes on; the
//    caller either refuses or migrates explicitly, logging each value it sets;
//  - the data fingerprint: the data spec, image size, channels, part sizes, label names and a
//    digest of every used image's (subject, labels, file name). Resuming on data that differs
//    from the data the run was trained on is refused, naming what differs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "posefer/core/config.h"

namespace posefer {

struct PreparedData;

// Version of TrainConfig's JSON form, stored in every checkpoint ("config_schema"). Bump it when
// a field is added or changes meaning. Checkpoints without the key are schema 1.
constexpr int kConfigSchema = 7;  // 5: model.g_codes, checkpoint_minutes; 6: loss.id_cycle; 7: data.align_padded

// Dotted paths ("loss.cross_l1") of the fields that a default TrainConfig has and the stored
// config JSON lacks, in field order. Empty for a config written by this version.
std::vector<std::string> missing_config_fields(const nlohmann::json& stored);

// "loss.cross_l1 = 1, model.backbone_side = 112": the values today's defaults give `fields`.
std::string describe_defaults(const std::vector<std::string>& fields);

// What resuming does with a stored config that lacks `missing` fields: nothing when there are
// none; else, without `migrate`, throws ConfigError naming the checkpoint, each field and the
// default it would take and the --migrate way out; with `migrate`, logs the same as a warning.
void check_config_migration(const std::string& checkpoint, const std::vector<std::string>& missing, bool migrate);

// The fingerprint of the data a run trains on (see the header comment). Deterministic for the
// same files and options; any relabelled, added, removed or renamed image changes "digest".
nlohmann::json data_fingerprint(const DataConfig& data, const PreparedData& prepared);

// "" when `now` matches `stored`, else what differs, e.g.
// "training images 2800 -> 2799; image digest 1f..->9a..". Keys absent from `stored` are ignored.
std::string fingerprint_mismatch(const nlohmann::json& stored, const nlohmann::json& now);

}  // namespace posefer
