// BU-3DFE reader (`bu3dfe:<dir>`): the 3D release's textured face scans, rendered at 35 views.
//
// Layout: <dir>/<subject>/<subject>_<EX><II><RR>_F3D.wrl with subject F0001..F0056 / M0001..M0044,
// expression EX in AN DI FE HA SA SU (angry, disgust, fear, happy, sad, surprise) or NE
// (neutral, intensity 00), intensity II 01..04, ethnicity code RR (WH, AE, BL, AM, LA, IN, ...),
// each a VRML 2.0 IndexedFaceSet (vrml.h) whose ImageTexture names its .bmp texture.
//   Selection: DatasetOptions::bu3dfe_intensity (default 4, the paper's; 0 = all four) and
//   bu3dfe_neutral (default off: six classes). Vocabulary: angry, disgust, fear, happy, [neutral,]
//   sad, surprise (the basic-seven names, so it matches FER2013 / SFEW).
//   Files: the *_RAW.wrl scans and .bnd / .pse landmark files are counted in Dataset::filtered,
//   scans of other intensities (or neutral when off) too; .bmp textures are read through their
//   scan; anything else is listed in Dataset::skipped. A .wrl whose name is not of the form
//   above, or whose subject disagrees with its folder -> InputError naming the file; a broken
//   VRML file or a missing texture -> InputError naming the file (and line), raised while
//   rendering.
//
// Views: pan 0, +-15, +-30, +-45 x tilt 0, +-15, +-30 (35), ordered by pan, then tilt; pose
// names pose_name() ("p-30_t+15"); Sample::yaw_deg / pitch_deg = pan / tilt. Signs as the
// renderer's (render.h): + pan turns the face to the image right, + tilt turns it up. The scan
// is assumed to face +z with +y up (VRML's default view); it is centred on its bounding box and
// scaled so its bounding sphere fills the frame at every view, on a grey background.
//
// Rendering: each view is written once as a render_size x render_size RGB PNG into the cache
// folder <cache_dir>/bu3dfe_<hash of the data folder's canonical path and the render settings>,
// as <subject>/<scan stem without _F3D>_<pose>.png, atomically (temp file + rename). The folder's
// render.json holds the full key; when it matches, PNGs already there are reused and only
// missing views are rendered (an interrupted run resumes); otherwise every view is rendered
// again. The scans themselves are not hashed: delete the folder after editing a scan.
// Scans are rendered in parallel (DatasetOptions::threads) with a progress bar.
//   Samples point at the PNGs; subject = F0001 etc.; in scan order, then view order.
//   native_channels = 3. Throws ConfigError without cache_dir or for an intensity outside 0..4,
//   a render_size outside 32..1024.
#pragma once

#include <string>
#include <vector>

#include "posefer/data/dataset.h"
#include "posefer/render/parametric_face.h"

namespace posefer {

// The 35 BU-3DFE views in sample order (pan-major: pan -45 tilt -30, pan -45 tilt -15, ...).
std::vector<HeadPose> bu3dfe_views();

Dataset read_bu3dfe(const std::string& dir, const DatasetOptions& options = {});

}  // namespace posefer
