// Data-set readers: each turns a data set's distributed layout into a list of labelled samples.
//
// Supported layouts (spec string "<kind>:<path>", as given to `--data`):
//   cmu:<dir>       CMU Face Images: <dir>/<subject>/<subject>_<pose>_<expr>_<eyes>[_<scale>].pgm
//                   poses straight,left,right,up; expressions neutral,happy,sad,angry.
//                   Uses the _2 scale (64x60) files by default (DatasetOptions::cmu_scale),
//                   both eye states unless DatasetOptions::cmu_eyes keeps one.
//                   Corrupt originals kept as *.bad are listed in Dataset::skipped, never read.
//   genki:<dir>     GENKI-4K: <dir>/labels.txt ("smile yaw pitch roll", radians) + files/fileNNNN.jpg.
//                   Expressions non_smile,smile; pose = yaw binned into DatasetOptions::yaw_bins
//                   equal-width bins over [-45, 45] degrees (outside values clamp to the end bins).
//                   No subject ids: every image is its own subject (see splits.h).
//   fer2013:<dir>   FER2013 folder layout: <dir>/{train,test}/<class>/{Training,PublicTest,
//                   PrivateTest}_<id>.jpg. 7 classes angry,disgust,fear,happy,neutral,sad,surprise.
//                   Sample::group is the usage from the file-name prefix. One pose bin ("all").
//   fer2013csv:<file>  The original fer2013.csv (emotion,pixels,Usage); the same 7 classes and
//                   groups as fer2013:. The 48x48 images are written once as PNGs into a cache
//                   folder (dataset_fer2013csv.h).
//   manifest:<csv>  CSV with header "path,subject,expression,pose" (extra columns allowed, e.g.
//                   intensity,yaw,pitch). Relative paths are relative to the CSV's folder.
//                   Expression/pose columns hold names; vocabularies are the sorted unique names,
//                   except that poses are ordered by mean yaw, then mean pitch, when every row
//                   has a yaw value (so grids run left to right).
//   multipie:<dir>  CMU Multi-PIE multiview tree; multipie-list:<file> a "path label" list of
//                   Multi-PIE images (dataset_multipie.h). 6 expressions neutral,smile,surprise,
//                   squint,disgust,scream; poses = the selected cameras (default 5 pans).
//   bu3dfe:<dir>    BU-3DFE 3D scans (VRML + BMP texture) rendered at 35 views into a cache
//                   folder (dataset_bu3dfe.h).
//   sfew:<dir>, kdef:<dir>, rafd:<dir>   SFEW folder-per-class, KDEF/AKDEF and RaFD file names
//                   (dataset_folders.h).
//
// Pose names of the posed sets (multipie, bu3dfe, kdef, rafd) are pose_name() of
// parametric_face.h ("p-30_t+0"), as the rendered faces of `posefer make-faces`, so vocabularies
// match across data sets; Sample::yaw_deg / pitch_deg hold the angles. Expression names map onto
// the basic seven (angry, disgust, fear, happy, neutral, sad, surprise) where the set has them.
//
// Throws InputError naming the file (and line, for CSV/labels/lists/VRML) on a missing
// directory, an unknown kind, a malformed name or line. Files a reader does not recognise are
// listed in Dataset::skipped ("path: reason"); files left out by an option (another camera,
// illumination, intensity, gaze) are counted in Dataset::filtered. Unreadable images are NOT
// detected here (readers do not decode); the image cache reports them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace posefer {

// One labelled image.
struct Sample {
  std::string path;       // absolute or relative-to-cwd image path
  std::string subject;    // subject id ("" never: readers make one up when the set has none)
  int expression = 0;     // index into Dataset::expression_names
  int pose = 0;           // index into Dataset::pose_names
  float yaw_deg = 0.f;    // head yaw in degrees when known (GENKI, manifest), else 0
  float pitch_deg = 0.f;  // head pitch in degrees when known, else 0
  std::string group;      // usage tag from the layout (FER2013: Training/PublicTest/PrivateTest;
                          // SFEW: split folder; KDEF: session A/B; Multi-PIE: session01..04)
};

// Reader options that change labels or which files are used.
struct DatasetOptions {
  int cmu_scale = 2;   // CMU file scale: 1 (128x120, 313 files), 2 (64x60), 4 (32x30)
  // CMU: eye states kept: all | open | sunglasses (the others counted in Dataset::filtered).
  // Each person is photographed at every label with and without sunglasses, so a photo's
  // partner at other labels wears them half the time unless one state is kept.
  std::string cmu_eyes = "all";
  int yaw_bins = 3;    // GENKI: number of yaw bins (1..9)
  // Multi-PIE: cameras (poses) to keep, comma list of camera ids ("13_0,...") among the 13 at
  // head height, or "paper" = 13_0,14_0,05_1,05_0,04_1 (-30..+30 degrees).
  std::string multipie_cameras = "paper";
  // Multi-PIE: illuminations to keep, comma list of two-digit indices 00..18, or "all".
  std::string multipie_illumination = "07";
  int bu3dfe_intensity = 4;     // BU-3DFE: expression intensity 1..4, or 0 = all four
  bool bu3dfe_neutral = false;  // BU-3DFE: also the neutral scans (NE00) as a 7th class
  int render_size = 128;        // BU-3DFE: side of the rendered views in pixels (32..1024)
  std::string rafd_gaze = "all";  // RaFD: all | frontal | left | right
  // Folder of the files readers make (BU-3DFE renders, fer2013.csv PNGs), each in a keyed
  // sub-folder; required by those two kinds ("" = none given).
  std::string cache_dir;
  int threads = 0;              // workers for rendering (0 = all cores)
  bool progress = true;         // progress bar on stderr while rendering / writing images
};

// A parsed "<kind>:<path>" data spec.
struct DataSpec {
  std::string kind;  // one of data_kinds()
  std::string path;  // directory, or file for manifest, fer2013csv, multipie-list
};

// Everything a reader found.
struct Dataset {
  std::string name;                           // e.g. "cmu", "genki", "fer2013", "manifest"
  std::vector<std::string> expression_names;  // E names, index = Sample::expression
  std::vector<std::string> pose_names;        // P names, index = Sample::pose
  std::vector<Sample> samples;                // in a deterministic (sorted) order
  std::vector<std::string> skipped;           // "path: reason" for each file left out
  std::map<std::string, int64_t> filtered;    // reason -> count of files left out by an option
  int native_channels = 3;                    // 1 if the set is greyscale, else 3
};

// Names of `bins` equal-width yaw bins over [-45, 45] degrees: "yaw[-45,-15)", ..., "yaw[15,45]".
std::vector<std::string> yaw_bin_names(int bins);
// Index of the bin holding yaw_deg among those bins (values outside clamp to the end bins).
int yaw_bin_of(double yaw_deg, int bins);

// The kinds load_dataset reads: cmu, genki, fer2013, fer2013csv, manifest, multipie,
// multipie-list, bu3dfe, sfew, kdef, rafd.
const std::vector<std::string>& data_kinds();

// Parses "kind:path". Throws InputError for a missing ':' or an unknown kind.
DataSpec parse_data_spec(const std::string& spec);

// Reads a data set; dispatches on spec.kind. Throws InputError (see above).
Dataset load_dataset(const DataSpec& spec, const DatasetOptions& options = {});

Dataset read_cmu_faces(const std::string& dir, const DatasetOptions& options = {});
Dataset read_genki4k(const std::string& dir, const DatasetOptions& options = {});
Dataset read_fer2013(const std::string& dir);
Dataset read_manifest(const std::string& csv_path);

}  // namespace posefer
