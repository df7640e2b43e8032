// posefer make-faces: render the embedded multi-pose expression face set, or a contact sheet.
#include <iostream>
#include <memory>

#include "commands.h"
#include "posefer/core/check.h"
#include "posefer/parallel/launcher.h"
#include "posefer/render/make_faces.h"

namespace posefer::cli {

Action add_make_faces(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "make-faces", "Render parametric 3D faces at expressions x poses (images, manifest, landmarks)");
  auto job = std::make_shared<MakeFacesJob>();
  auto sheet = std::make_shared<std::string>();
  cmd->add_option("--identities", job->identities, "Number of people (a sheet: default 1)")
      ->check(CLI::Range(1, 9999));
  cmd->add_option("--poses", job->poses,
                  "bu3dfe (35 views), multipie (5 pans) or PAN[:TILT],... in degrees "
                  "(a sheet: default multipie)");
  cmd->add_option("--expressions", job->expressions, "basic7, basic6 or a comma list of names");
  cmd->add_option("--size", job->size, "Image side in pixels")->check(CLI::Range(16, 1024));
  cmd->add_option("--intensity", job->intensity, "Expression intensity 1..4 (BU-3DFE levels)")
      ->check(CLI::Range(1, 4));
  cmd->add_option("--seed", job->seed, "Population seed (same seed, same people)");
  cmd->add_option("--out", job->out, "Output directory");
  cmd->add_option("--threads", job->threads, "Worker threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--supersample", job->supersample, "Anti-aliasing samples per pixel side")
      ->check(CLI::Range(1, 8));
  cmd->add_option("--sheet", *sheet,
                  "Write only a contact sheet PNG (rows = expressions, columns = poses)");
  return [=]() {
    if (!sheet->empty()) {
      const int identities = cmd->count("--identities") ? job->identities : 1;
      const std::string poses = cmd->count("--poses") ? job->poses : "multipie";
      const RgbImage img = face_sheet(job->seed, identities, parse_expressions(job->expressions),
                                      parse_poses(poses), job->size, job->intensity);
      write_rgb_png(*sheet, img, 9);
      std::cout << "wrote " << *sheet << " (" << img.width << "x" << img.height << ")\n";
      return 0;
    }
    POSEFER_CHECK_CONFIG(!job->out.empty(), "make-faces: --out DIR (or --sheet PNG) is required");
    MakeFacesJob j = *job;
    j.should_stop = [] { return stop_requested(); };
    const MakeFacesResult r = make_faces(j);
    std::cout << "wrote " << r.images << " images and " << r.manifest << " in " << r.seconds
              << " s (" << (r.seconds > 0 ? double(r.images - r.reused) / r.seconds : 0.0) << " img/s"
              << (r.reused > 0 ? ", " + std::to_string(r.reused) + " kept from the interrupted run" : "") << ")\n";
    if (r.interrupted) {
      std::cout << "interrupted: run the same command again to draw the rest\n";
      return kInterruptedExitStatus;
    }
    std::cout << "train on it with: posefer train --data manifest:" << r.manifest << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
