// Readers of photo sets whose labels sit in folder or file names: SFEW, KDEF / AKDEF, RaFD.
// Images are the files with an image ending (dataset_util.h: .png .jpg .jpeg .bmp .tif .tiff
// .pgm .ppm, any case); other files are listed in Dataset::skipped. All three are colour
// (native_channels = 3). Samples are in sorted path order.
//
// SFEW (`sfew:<dir>`): folder per class, Angry/ Disgust/ Fear/ Happy/ Neutral/ Sad/ Surprise/
// (any case), either directly in <dir> (one part; Sample::group "") or one level down in split
// folders, as SFEW 1.0 SPI's Set_1/ Set_2/ and SFEW 2.0's Train/ Val/: Sample::group = the
// split folder's name as written ("Set_1", "Train", ...), so splits can use it. Vocabulary the
// basic seven (angry, disgust, fear, happy, neutral, sad, surprise); one pose bin "all". No
// subject ids: every image is its own subject, named by its path below <dir> without the
// ending ("Set_1/Angry/img001"), as GENKI's and FER2013's images are. A folder that is neither
// a class nor (at the top) a split holding only class folders -> InputError naming it; files
// outside class folders are listed in Dataset::skipped.
//
// KDEF / AKDEF (`kdef:<dir>`): any folder depth, file names <S><X><NN><EX><ANGLE>.<ext> (case
// ignored), e.g. AF01ANHL.JPG: session S (A/B), sex X (F/M), id NN (01..35), expression EX
// (AF afraid, AN angry, DI disgusted, HA happy, NE neutral, SA sad, SU surprised -> fear,
// angry, disgust, happy, neutral, sad, surprise; vocabulary the basic seven), angle FL / HL / S /
// HR / FR (full left, half left, straight, half right, full right) -> yaw -90, -45, 0, +45, +90:
// poses ordered left to right, named by pose_name() ("p-45_t+0"). "Left" is KDEF's word; that it
// maps to a negative yaw is this reader's convention (not checked on images). Subject = sex + id
// ("F01"); group = session ("A" / "B"). An image whose name is not of this form -> InputError.
//
// RaFD (`rafd:<dir>`): any folder depth, file names Rafd<CAM>_<ID>_<ethnicity>_<sex>_<expression>
// _<gaze>.<ext>, e.g. Rafd090_01_Caucasian_female_angry_frontal.jpg: camera angle CAM 000 / 045 /
// 090 / 135 / 180 -> yaw = CAM - 90 = -90, -45, 0, +45, +90 (090 frontal; the sign is this
// reader's convention: camera 000 negative, not checked on images), poses named by pose_name();
// ID digits -> subject (as written, "01"); sex male / female; expression angry, contemptuous,
// disgusted, fearful, happy, neutral, sad, surprised -> vocabulary angry, contempt, disgust,
// fear, happy, neutral, sad, surprise (8); gaze frontal / left / right, kept per
// DatasetOptions::rafd_gaze (default all; others counted in Dataset::filtered). Group "".
// An image whose name is not of this form -> InputError naming it.
//
// All three throw InputError for a missing folder or when no image is found.
#pragma once

#include <string>

#include "posefer/data/dataset.h"

namespace posefer {

Dataset read_sfew(const std::string& dir);
Dataset read_kdef(const std::string& dir);
Dataset read_rafd(const std::string& dir, const DatasetOptions& options = {});

}  // namespace posefer
