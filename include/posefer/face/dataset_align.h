// Aligning a whole data set once: every image -> face detection + 68 landmarks -> aligned N x N
// crop (align.h), with an explicit outcome per image — never a silent crop.
//
// Outcomes: aligned (exactly one face), several faces (handled by the policy: largest / all /
// skip), no face found, failed (unreadable image; the run goes on and lists them). Optional
// fallbacks where TinyFaceDetector finds nothing: OpenCV Haar cascades (frontal + profile), then
// the whole image as the face box, then the centred square of the photo as the crop itself (no
// landmarks); the counts say how many images each path handled. Writes, under
// out_dir: one PNG per aligned face (input path relative to the data set's folder, extension
// .png; policy "all" adds _<k>), landmarks.csv (one row per image and face: outcome, score, box,
// 2x3 transform, 68 landmarks in photo pixels) and summary.json (counts overall and per pose bin).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "posefer/face/align.h"
#include "posefer/data/dataset.h"
#include "posefer/face/face_detector.h"
#include "posefer/face/haar_face_detector.h"

namespace posefer {

// What to do with an image in which the detector finds several faces.
enum class MultiFacePolicy {
  kLargest,  // align the largest box only
  kAll,      // align every face (out names get _1, _2, ...)
  kSkip,     // align none; counted as "several faces"
};
// "largest" | "all" | "skip" -> policy; throws ConfigError naming the flag value otherwise.
MultiFacePolicy parse_multi_face_policy(const std::string& name);

struct DatasetAlignJob {
  std::string data;                              // "<kind>:<path>" (dataset.h)
  std::string out_dir;                           // output folder (created)
  DatasetOptions dataset;                        // reader options (CMU scale, GENKI yaw bins)
  AlignConfig align;                             // crop size, channels, margin
  FaceDetectorConfig detector;                   // models and detector thresholds (expressions unused)
  MultiFacePolicy multi = MultiFacePolicy::kLargest;  // several faces in one image
  // No face found: detect again on the photo padded with black (padded_detect.h: tight face
  // crops, faces that fill the frame), as `posefer classify` does first. Before the Haar cascades.
  bool padded_fallback = false;
  bool haar_fallback = false;                    // no face found: try OpenCV's Haar cascades (largest box)
  HaarFaceDetectorConfig haar;                   // cascades for the fallback
  bool whole_image_fallback = false;             // still none: the whole image is the face box
  bool whole_image = false;                      // no detection at all: the whole image is the face
                                                 // box (face-crop data sets such as FER2013)
  // F in (0.1, 1]: where still no face is found, the centred square of side F * min(h, w),
  // resized to N x N, is written as the crop (no landmarks; outcome aligned, via "center"), so
  // every photo gets a face crop (GENKI: the same crop as its unaligned runs). 0 = off.
  double center_fallback = 0.0;
  int64_t limit = 0;                             // align only the first `limit` samples (0 = all)
  bool progress = true;                          // progress bar on stderr
  // Polled before each image; true = stop there. What is done is kept in the journal
  // (out/align.journal.jsonl), and running the same job again continues after it.
  std::function<bool()> should_stop;
};

// Counts of one group of images (all, or one pose bin).
struct AlignCounts {
  int64_t images = 0;         // images seen
  int64_t aligned = 0;        // exactly one face found, aligned
  int64_t several = 0;        // several faces (aligned per policy unless skip)
  int64_t no_face = 0;        // no face found
  int64_t failed = 0;         // unreadable / bad image
  int64_t via_padded = 0;     // of aligned: found by the detector on the padded photo
  int64_t via_haar = 0;       // of aligned: face box from the Haar fallback
  int64_t via_whole = 0;      // of aligned: the whole image taken as the face box
  int64_t via_center = 0;     // of aligned: the centred square written as the crop (no landmarks)
  nlohmann::ordered_json to_json() const;
};

struct DatasetAlignResult {
  AlignCounts total;                          // all images
  std::map<std::string, AlignCounts> by_pose;  // per pose bin name
  int64_t crops_written = 0;                  // aligned PNGs written
  std::vector<std::string> failures;          // "path: reason" per failed image
  int64_t resumed = 0;                        // images whose outcome came from an earlier, interrupted run
  bool interrupted = false;                   // should_stop ended the job; run it again to finish
  int64_t done = 0;                           // images with an outcome (of `planned`)
  int64_t planned = 0;                        // images the job covers
  std::string to_markdown() const;            // the outcome table
};

// Name (relative to the output folder) of the aligned PNG of `sample_path`, a sample of the data
// set `spec`: its path relative to the data set's folder (the CSV's folder for manifests; else the
// bare file name), extension .png. Policy "all" writes <name>_<k>.png instead for several faces.
std::string aligned_output_name(const std::string& sample_path, const DataSpec& spec);

// Runs the job (see above). Every image gets an outcome: landmarks.csv has a row per image (and per
// face), skipped.csv (path,outcome,reason) names each image without an aligned face.
// Resumable: each image's outcome is appended to out/align.journal.jsonl as it is done; a rerun
// with the same settings replays it and aligns only the rest; the journal is removed once
// landmarks.csv, skipped.csv and summary.json are written.
// Throws InputError for a bad data spec or missing weights, ConfigError for a bad config or a
// journal written with other settings; a bad image is a counted failure, not an exception.
DatasetAlignResult run_dataset_align_job(const DatasetAlignJob& job);

}  // namespace posefer
