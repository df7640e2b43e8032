// FER2013 as distributed on Kaggle (`fer2013csv:<file>`): one CSV, fer2013.csv, with header
// "emotion,pixels,Usage" (any column order, any case, extra columns allowed), one image a row:
// emotion 0..6 (0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral), pixels = 2304
// space-separated grey values 0..255 (48 x 48, row-major), Usage Training / PublicTest /
// PrivateTest.
//
// How the pixels reach the image cache: the reader writes every row once as a 48 x 48 grey PNG
// into a cache folder and returns samples pointing at those files, like every other reader.
// Sample stays a path, so the image cache, alignment (`posefer align`, `--align auto`),
// detection and the peer baseline read FER2013-from-CSV exactly as FER2013-from-folders, and
// nothing holds 35,887 images in memory beside the decoded set. The folder is
// <cache_dir>/fer2013csv_<hash of the CSV's canonical path, size and modification time>, with
// <Usage>/<Usage>_<row>.png (row = 1-based data row, 5 digits; blank lines not counted),
// samples.csv (file,expression,usage) and complete.json (the full key), both written last and
// every file atomically; when complete.json matches, only samples.csv is read (the 300 MB CSV is
// not parsed again); otherwise the PNGs are written again.
//
// Labels: the 7 classes of fer2013: angry, disgust, fear, happy, neutral, sad, surprise (the
// CSV's codes are mapped, so both kinds give the same labels); Sample::group = Usage; subject =
// "<Usage>_<row>" (each image its own subject); one pose bin "all"; native_channels = 1.
// Throws InputError "<file> line N: ..." for a malformed row (field count, emotion, pixel count
// or value, Usage), InputError for a missing header column; ConfigError without cache_dir.
#pragma once

#include <string>

#include "posefer/data/dataset.h"

namespace posefer {

Dataset read_fer2013_csv(const std::string& csv_path, const DatasetOptions& options = {});

}  // namespace posefer
