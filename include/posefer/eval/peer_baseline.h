// The peer baseline: face-api's FaceExpressionNet scored on any labelled data set, so every
// results table has the pretrained peer's row next to ours.
//
// face-api's 7 classes are mapped onto the data set's expression names by meaning (neutral,
// happy/smile, sad, angry, fearful/fear, disgusted/disgust, surprised/surprise); a data-set class
// named non_<x> or other takes every face-api class not mapped elsewhere (GENKI: non_smile =
// all but happy). Face-api classes the data set lacks are ignored. The prediction is the data-set
// class with the largest summed face-api probability.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posefer/data/dataset.h"
#include "posefer/face/face_detector.h"
#include "posefer/metrics/metrics.h"

namespace posefer {

// For each data-set class, the face-api class indices (kFaceApiExpressions) it takes.
// Throws ConfigError naming a data-set class that no face-api class maps to.
std::vector<std::vector<int>> faceapi_class_mapping(const std::vector<std::string>& dataset_classes);

struct PeerEvalJob {
  std::string data;                 // "<kind>:<path>" (dataset.h)
  std::string fold = "0/5";         // split spec (splits.h) whose test part is scored, or "all"
                                    // (every image: the peer is not trained on any of them)
  uint64_t split_seed = 1;          // seed of the split (as training's --split-seed)
  int64_t max_test = 0;             // score at most this many test images (seeded; 0 = all)
  std::string face = "auto";        // face box: "detect" (TinyFaceDetector, largest face; the whole
                                    // image when none), "whole" (the whole image: face crops),
                                    // "auto" = whole for fer2013 / fer2013csv, else detect
  DatasetOptions dataset;           // reader options (dataset.h)
  FaceDetectorConfig detector;      // models and detector settings
  bool progress = true;             // progress bar on stderr
};

struct PeerEvalResult {
  ClassificationReport report;      // accuracy, per class, per pose bin, confusion
  int64_t no_face = 0;              // images where detection found nothing (whole image used)
  int64_t failed = 0;               // unreadable images (left out of the report)
  std::vector<std::string> failures;  // "path: reason"
  std::vector<std::string> mapping;   // "dataset class <- face-api classes", one per class
  std::string to_markdown(const std::string& title) const;
};

// Throws InputError / ConfigError for a bad spec, split or missing weights.
PeerEvalResult run_peer_eval(const PeerEvalJob& job);

}  // namespace posefer
