// CMU Multi-PIE readers: the distributed multiview tree and "path label" image lists.
//
// Tree (`multipie:<dir>`, <dir> = the folder holding session01..session04, or its parent
// holding data/): session0S/multiview/SSS/RR/CC_C/SSS_0S_RR_CCC_II.png with subject SSS,
// session S (1..4), recording RR, camera CC_C (file name: CCC without the '_') and illumination
// II (00 = no flash, 01..18 = flashes). Other folders under a session (highres/) are not read.
//   Expression from session + recording (the Multi-PIE expression protocol):
//     session 1: 01 neutral, 02 smile        session 2: 01 neutral, 02 surprise, 03 squint
//     session 3: 01 neutral, 02 smile, 03 disgust
//     session 4: 01 neutral, 02 neutral, 03 scream
//   -> vocabulary neutral, smile, surprise, squint, disgust, scream (6 classes, always all six).
//   Pose from the camera. The 13 cameras at head height sit on an arc in 15-degree steps:
//     11_0 12_0 09_0 08_0 13_0 14_0 | 05_1 | 05_0 04_1 19_0 20_0 01_0 24_0
//     -90  -75  -60  -45  -30  -15  |   0  |  +15  +30  +45  +60  +75  +90   (yaw_deg)
//   05_1 is frontal; 14_0, 13_0, 08_0 ... step away on one side, 05_0, 04_1, 19_0 ... on the
//   other. How the order was checked: against the camera list of the Idiap bob.db.multipie
//   package (its arc order 24_0, 01_0, 20_0, 19_0, 04_1, 05_0, 05_1, 14_0, 13_0, 08_0, 09_0,
//   12_0, 11_0, the elevated 19_1 / 08_1 aside; 04_1 "right quarter-profile", 13_0 "left
//   quarter-profile", 24_0 / 11_0 the profiles) and the paper's list of its 5 poses
//   (13_0, 14_0, 05_1, 05_0, 04_1 for -30, -15, 0, +15, +30). Which side gets the minus sign is
//   a convention: here the "left" cameras 14_0, 13_0, ... are negative, as in the paper's order.
//   It was not checked on images (no Multi-PIE copy here) whether a negative yaw shows the face
//   turned to the image left or right (make-faces renders: negative = turned to the image left).
//   The elevated cameras 08_1 and 19_1 are never selected. DatasetOptions::multipie_cameras
//   chooses the cameras (default the paper's five); pose names are pose_name() of the yaw
//   ("p-30_t+0"), ordered by yaw.
//   Illumination: DatasetOptions::multipie_illumination, default "07" (one illumination, as the
//   paper, which does not name it; 07 is taken as the flash near the frontal camera), or a list,
//   or "all".
//   Images of other cameras / illuminations are counted in Dataset::filtered ("camera 19_0 not
//   selected", "illumination 03 not selected"); non-PNG files are listed in Dataset::skipped.
//   Subject = SSS (the same person across sessions), group = "session0S".
//   A PNG whose name is not SSS_0S_RR_CCC_II, or disagrees with its folders, or a recording
//   the session does not have -> InputError naming the file.
//
// List (`multipie-list:<file>`), the format of the Multi-PIE expression subsets used by later
// work: one image per line, "<path> <label>" (separated by blanks or one comma; the label is the
// last field, so paths may hold spaces), label an integer 0..5 into the six classes above.
// Relative paths are relative to the list file's folder. Blank lines and lines starting with '#'
// are ignored. Pose and subject come from the Multi-PIE file name at the end of the path, the
// group from its session; the label is taken as given (not checked against the recording).
// Cameras not selected are counted in Dataset::filtered; the illumination is not filtered (the
// list chose its images). Missing files are listed in Dataset::skipped with the line number.
// Malformed lines, labels or file names -> InputError "<file> line N: ...".
#pragma once

#include <string>
#include <vector>

#include "posefer/data/dataset.h"

namespace posefer {

// Multi-PIE's camera at head height with this id ("13_0"), yaw in degrees; false for an
// unknown or elevated camera.
bool multipie_camera_yaw(const std::string& camera, float* yaw_deg);

// The cameras of DatasetOptions::multipie_cameras, ordered by yaw. Throws ConfigError naming an
// unknown camera.
std::vector<std::string> multipie_cameras(const std::string& spec);

// The illuminations of DatasetOptions::multipie_illumination ("07", "00,07", ...); empty for
// "all". Throws ConfigError naming an item that is not a two-digit index 00..18.
std::vector<std::string> multipie_illuminations(const std::string& spec);

Dataset read_multipie(const std::string& dir, const DatasetOptions& options = {});
Dataset read_multipie_list(const std::string& list_path, const DatasetOptions& options = {});

}  // namespace posefer
