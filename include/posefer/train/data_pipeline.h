// From a DataConfig to in-memory training/validation/test image sets: read the data set,
// split it, decode and resize every image once.
//
// Face alignment (DataConfig::align): with a folder written by `posefer align`, every sample's
// image becomes its aligned PNG there (aligned_output_name, dataset_align.h; square, so no crop);
// samples without one are left out, listed in Dataset::skipped and counted in one log line. The
// split is made on the whole data set first, so folds hold the same images as without alignment
// (minus the left-out ones). "auto" aligns the data set once into a sub-folder of
// DataConfig::align_cache keyed on the data set's canonical path and the settings below, and
// reuses it once its completion marker (written last, atomically) is there.
//
// `--align auto` settings (auto_align_job): crops of side max(128, N), the data set's channels,
// margin 0.1 (align.h), TinyFaceDetector at input 416 / score 0.5, the largest face where there
// are several, Haar cascades where the detector finds none; FER2013 (48 x 48 face crops) skips
// detection (and Haar) and takes the whole image as the face box. Where unaligned photos get the
// centre crop (crop "center", or "auto" for GENKI), a photo in which neither finds a face keeps
// that crop (side crop_fraction x min(h, w)), so no photo is left out.
//
// Pose bins from landmarks (DataConfig::pose_from_landmarks = P > 0, needs align): yaw estimated
// from the aligned folder's landmarks.csv by the head pose model (head_pose.h) replaces the data
// set's poses with P equal-width yaw bins over [-45, 45] (as GENKI's yaw bins).
#pragma once

#include <string>

#include "posefer/core/config.h"
#include "posefer/data/dataset.h"
#include "posefer/face/dataset_align.h"
#include "posefer/face/head_pose.h"
#include "posefer/data/image_cache.h"
#include "posefer/data/splits.h"

namespace posefer {

struct PreparedData {
  Dataset dataset;
  Split split;
  ImageSet train;  // empty when not requested
  ImageSet val;    // empty when the split has no validation part or not requested
  ImageSet test;   // empty when not requested
  std::string aligned_dir;  // the aligned folder used ("" without alignment)
};

struct PrepareOptions {
  int image_size = 64;    // N
  int channels = 0;       // 0 = the data set's native channel count
  bool train = true;      // decode the training part
  bool test = true;       // decode the validation and test parts
  bool progress = true;
  int threads = 0;        // decoding threads (0 = cores)
};

// Appends the images of `spec` ("manifest:<csv>") to `dataset` and to split.train, their labels
// mapped onto the data set's names (expressions by canonical name). Returns how many.
// Throws InputError naming the image whose expression or pose the data set lacks.
size_t add_extra_training(Dataset& dataset, Split& split, const std::string& spec);

// Throws InputError / ConfigError with the data spec as context.
PreparedData prepare_data(const DataConfig& data, const PrepareOptions& options);

// The reader options a DataConfig holds (cache folder included), with the given rendering
// threads (0 = cores) and progress bar.
DatasetOptions dataset_options(const DataConfig& data, int threads = 0, bool progress = true);

// The crop mode a DataConfig resolves to for a data set kind ("auto": center for genki;
// resize whenever faces are aligned).
CropMode resolve_crop(const DataConfig& data, const std::string& kind);

// The alignment job `--align auto` runs for `data` at model side `image_size` (settings above),
// writing into `out_dir`.
DatasetAlignJob auto_align_job(const DataConfig& data, int image_size, const std::string& out_dir);

// The cache folder of that job: <align_cache>/<kind>_<16 hex digits of a hash of the data set's
// canonical path and the job's settings>. Throws ConfigError when align_cache is empty.
std::string auto_align_dir(const DataConfig& data, int image_size);

// Runs auto_align_job into auto_align_dir unless its completion marker (complete.json) is there;
// returns the folder. `progress`: progress bar on stderr.
std::string ensure_auto_aligned(const DataConfig& data, int image_size, bool progress);

// What use_aligned_faces did.
struct AlignedUse {
  int64_t used = 0;     // samples now pointing at aligned PNGs
  int64_t missing = 0;  // samples left out: no aligned face (or no landmarks, for pose bins)
};

// Points dataset's samples at their aligned PNGs under `dir` (written by `posefer align` for the
// data set `spec`), leaves out the samples without one (listed in Dataset::skipped) and renumbers
// `split` to match. With `pose_bins` > 0 the poses become the yaw of `pose_model` on the
// landmarks in dir/landmarks.csv, binned into pose_bins bins (yaw/pitch of the samples set too).
// Throws InputError naming `dir` when it is not a folder, or holds no aligned face of the set.
AlignedUse use_aligned_faces(Dataset& dataset, Split& split, const DataSpec& spec,
                             const std::string& dir, int pose_bins = 0,
                             const HeadPoseModel* pose_model = nullptr);

}  // namespace posefer
