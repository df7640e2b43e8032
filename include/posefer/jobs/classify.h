// Applying a trained classifier (C_exp of a `posefer train` run) to one's own photos and videos:
// every face found gets the expression probabilities (softmax of the expression head) and, when
// the run has a pose head, the pose probabilities; one CSV row per face per image or frame.
//
// Inputs: image files, folders (every image and video below them, sorted by relative path) and
// video files (.mp4 .avi .mov .mkv .webm, any case; read with OpenCV's VideoCapture). A video
// yields frames 0, every, 2 * every, ... (at most max_frames of them when > 0).
//
// Faces (FaceMode):
// - whole: the whole image is the face, prepared as the run's data was (the crop DataConfig
//   resolves to, resize or centre square; image_io.h's prepare_face_image), N x N, C channels.
// - detect: TinyFaceDetector + 68 landmarks (face_detector.h) find every face; each is aligned
//   (align.h) with the run's alignment settings (those of `--align auto`, or the summary.json of
//   the `posefer align` folder it trained on; else AlignConfig's defaults), Haar cascades where the
//   settings used them and the detector finds nothing, then resized to N x N as the aligned PNGs
//   were in training.
//   When the detector finds no face (tight face crops defeat it: the face fills the frame), the
//   job's fallback steps are tried in order: "padded" = detect again on the photo padded with
//   black on every side by each of kFallbackPaddings of its longer side in turn, first at the
//   detector's score threshold, then at kFallbackLowScore keeping only the best box (a crop
//   holds one face; both in padded_detect.h, which `--align-padded` training uses too); boxes
//   and landmarks mapped back; Haar cascades where the run's alignment used them; "crop" = the
//   whole image as the face box when the photo is near-square (longer side at most
//   kCropMaxAspect times the shorter, as face-crop data sets are: FER2013's 48 x 48, aligned
//   crops), landmarks from the 68-point net inside it; "whole" = the same for any photo.
//   The default, "padded,crop", answers >= 99% of a folder of tight face crops (docs/runs.md) and
//   leaves a wide photo without a detectable face as no_face; "crop" and "whole" can call a photo
//   without a face a face, and the CSV's source column says so.
// - auto: detect when the run trained on aligned faces (DataConfig::align non-empty; a run aligned
//   with the whole image as the face box, FER2013's, aligns the whole image here too), else whole.
//
// CSV (written atomically; header first):
//   path,frame,face,x,y,w,h,status,expression,confidence,p_<expression>...,pose,pose_confidence,source
// frame -1 for still images; face -1 with the whole image as the box in whole mode (else 0, 1, ...
// by descending detector score, box in image pixels, not clipped); status ok | no_face |
// unreadable (a no_face / unreadable row has an empty box and empty probabilities); pose and
// pose_confidence are empty without a pose head; source says what found the face: detector |
// padded | haar | crop | whole (the fallbacks above) | image (whole mode), empty on other rows.
// Probabilities are written with 8 significant digits.
//
// Annotation (annotate non-empty): the folder gets, per image, a PNG of the photo with each face's
// box and its top expression + probability drawn (name: the path relative to the folder given as
// input, or the file name of an input file; extension .png, _2, _3, ... against clashes); per
// video, an MJPG .avi of the classified frames at fps / every, or, when OpenCV cannot write one,
// <name>/frame_<NNNNNN>.png per classified frame.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace posefer {

// How faces are found (see above).
enum class FaceMode {
  kAuto,    // detect + align when the run trained on aligned faces, else whole
  kDetect,  // always detect, align each face
  kWhole,   // no detection: the whole image is the face
};
// "auto" | "detect" | "whole" -> mode; throws ConfigError naming --face otherwise.
FaceMode parse_face_mode(const std::string& name);

// The "crop" fallback: photos whose longer side is at most this times the shorter are face crops.
inline constexpr double kCropMaxAspect = 1.25;

// "none" or a comma list of padded / crop / whole -> the steps; throws ConfigError naming
// --fallback.
std::vector<std::string> parse_fallback(const std::string& spec);

struct ClassifyJob {
  std::string checkpoint;            // checkpoint file or run directory (required)
  // Further runs voting with `checkpoint` (load_trained_models, pipeline.h): each face's
  // probabilities are the members' mean; faces are found and prepared as checkpoint's run does.
  std::vector<std::string> ensemble;
  std::vector<std::string> inputs;   // image files, folders, video files (at least one)
  std::string out;                   // CSV path ("" = `stream`, else ClassifyResult::csv)
  // out empty: rows are written here as they are classified (the CLI's stdout), so memory stays
  // flat; null = collected into ClassifyResult::csv. Not owned; must outlive the call.
  std::ostream* stream = nullptr;
  FaceMode face = FaceMode::kAuto;   // how faces are found
  // Detection found no face: steps tried in order (parse_fallback), e.g. "padded,crop" (default),
  // "padded", "padded,whole", or "none" (a no_face row).
  std::string fallback = "padded,crop";
  int every = 1;                     // video: classify every n-th frame (>= 1)
  int64_t max_frames = 0;            // video: at most this many classified frames each (0 = all)
  std::string annotate;              // folder for annotated copies ("" = none)
  int batch = 32;                    // faces per forward pass (>= 1)
  double tta_crop = -1;              // test-time crops for every model (TrainConfig::tta_crop; -1 = each run's own)
  std::string model_dir;             // face-api weights ("" = default_faceapi_model_dir())
  int threads = 0;                   // intra-op threads (0 = cores)
  bool progress = true;              // progress bar on stderr
  // Polled before each image and video frame; true = stop there, keep the rows done so far
  // (written to `out` as usual) and return with ClassifyResult::interrupted set. Null = never.
  std::function<bool()> should_stop;
  void validate() const;             // throws ConfigError naming the flag
};

struct ClassifyResult {
  std::vector<std::string> expression_names;  // the run's classes (CSV column order)
  std::vector<int64_t> expression_counts;     // faces whose top expression is each class
  int64_t images = 0;       // still images classified (readable)
  int64_t videos = 0;       // videos read
  int64_t frames = 0;       // video frames classified
  int64_t faces = 0;        // rows with status ok
  int64_t no_face = 0;      // images / frames without a face
  int64_t fallback_faces = 0;  // faces found by a fallback step (source padded, haar or whole)
  int64_t unreadable = 0;   // files in folders that could not be read (warned, skipped)
  int64_t annotated = 0;    // annotated files written (an .avi counts once)
  // The whole CSV when job.out is empty and job.stream null. With job.out the rows are streamed
  // to a temp file beside it as they are classified (memory stays flat) and renamed over `out` at
  // the end; with job.stream they go there; csv is then empty.
  std::string csv;
  bool interrupted = false;  // should_stop ended the job early (the rows done are kept)
  std::string stopped_before;  // the input (and frame) the job stopped before
  std::string summary() const;  // one line: counts per class and the rest
};

// Runs the job. Throws ConfigError for a bad job; InputError naming the path for a missing input,
// an unreadable image or video given by name, a missing checkpoint (load_trained_model), missing
// face-api weights when detection is needed (with how to install them), a folder with no images;
// an unreadable file found in a folder is a warning and an `unreadable` row instead.
ClassifyResult run_classify_job(const ClassifyJob& job);

}  // namespace posefer
