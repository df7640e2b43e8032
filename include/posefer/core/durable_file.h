// Durable file replacement: what a crash, a kill or a full disk may leave behind is either the
// previous file or the new one, never a half-written file, and never a stray temp file that keeps
// the disk full.
//
// The protocol: write to "<path>.tmp.<pid>" in the same folder, fsync it, rename it over <path>,
// fsync the folder. Every failure removes the temp file and throws posefer::Error naming <path>.
#pragma once

#include <functional>
#include <string>

namespace posefer {

// The temp name used for `path` by this process: "<path>.tmp.<pid>".
std::string temp_path_for(const std::string& path);

// Runs write(tmp) to fill the temp file, then fsyncs it, renames it over `path` and fsyncs the
// folder. Any exception from `write` (including LibTorch's c10::Error, e.g. on ENOSPC) or a
// failing fsync / rename becomes Error("<path>: cannot write (<reason>)") with the temp removed
// and the previous `path` untouched.
void replace_file_durably(const std::string& path, const std::function<void(const std::string& tmp)>& write);

// Removes "<name>.tmp.<pid>" files in `dir` whose process no longer runs (left by a kill during a
// save). Returns how many were removed; files of live processes and other files are kept.
int remove_stale_temp_files(const std::string& dir);

}  // namespace posefer
