// posefer train: train the joint model (and evaluate it on the test part at the end).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include "commands.h"
#include "posefer/core/check.h"
#include "posefer/parallel/distributed.h"
#include "posefer/parallel/launcher.h"
#include "posefer/jobs/pipeline.h"
#include "posefer/core/presets.h"

namespace posefer::cli {

void add_run_options(CLI::App* cmd, TrainJob& job, RunFlags& flags) {
  auto& c = job.config;
  cmd->add_option("--image-size", c.model.image_size, "Image side N (multiple of 32)")->check(CLI::Range(32, 512));
  cmd->add_option("--channels", job.channels, "Image channels: 1, 3, or 0 = the data set's own")->check(CLI::IsMember({0, 1, 3}));
  add_reader_flags(cmd, c.data);
  cmd->add_option("--crop", c.data.crop, "Crop: auto | resize | center")->check(CLI::IsMember({"auto", "resize", "center"}));
  cmd->add_option("--crop-fraction", c.data.crop_fraction, "Centre crop side relative to the shorter side")->check(CLI::Range(0.1, 1.0));
  cmd->add_option("--align", c.data.align,
                  "Aligned faces: a folder written by posefer align, auto (align once into --align-cache), or empty = off");
  c.data.align_cache = default_align_cache_dir();
  cmd->add_option("--align-cache", c.data.align_cache, "Where --align auto keeps aligned data sets");
  cmd->add_flag("--align-padded,!--no-align-padded", c.data.align_padded,
                "--align auto: where the detector finds no face, detect again on the photo padded with black (as classify does) before the Haar cascades");
  cmd->add_option("--pose-from-landmarks", c.data.pose_from_landmarks,
                  "Poses = landmark yaw in P bins over [-45, 45] (needs --align, --head-pose-model; 0 = off)")
      ->check(CLI::Range(0, 9));
  cmd->add_option("--head-pose-model", c.data.head_pose_model,
                  "Head pose model JSON for --pose-from-landmarks (posefer headpose --out)");
  cmd->add_option("--max-train", c.data.max_train, "Use at most this many training images (seeded; 0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-test", c.data.max_test, "Use at most this many val/test images (seeded; 0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--extra-train", c.data.extra_train, "manifest:<csv> of extra training images (e.g. posefer augment's faces), same class names");

  cmd->add_option("--epochs", c.epochs, "Training epochs")->check(CLI::Range(1, 100000));
  cmd->add_option("--batch", c.batch_size, "Real images per step")->check(CLI::Range(2, 4096));
  cmd->add_option("--k", c.gen_k, "Generated faces per real face for the classifier (0 = real only)")->check(CLI::Range(0, 100));
  cmd->add_option("--gen-warmup", c.gen_warmup, "Epochs before generated faces reach the classifier")->check(CLI::NonNegativeNumber);
  cmd->add_option("--extra-g-steps", c.extra_g_steps, "Extra generator steps per batch")->check(CLI::Range(0, 10));
  cmd->add_flag("--gan,!--no-gan", c.train_gan, "Train the joint model (--no-gan: only the classifier on real images, the k = 0 baseline)");
  cmd->add_flag("!--no-sync-bn", c.sync_bn, "With --nproc > 1: batch norm per rank's shard instead of over the global batch (fewer all-reduces)");
  cmd->add_flag("!--no-skip-critic-grads", c.skip_critic_grads,
                "Also compute D_att, D_i and C_exp weight gradients in G's steps (discarded; same results, slower)");
  cmd->add_option("--id-dim", c.model.id_dim, "Identity code length d")->check(CLI::Range(2, 1024));
  cmd->add_option("--gen-width", c.model.gen_width, "Generator width factor (1 = paper)")->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--disc-width", c.model.disc_width, "D_att width factor (1 = paper)")->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--cls-width", c.model.cls_width, "Classifier (VGG-19) width factor (1 = paper)")->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--cls-arch", c.model.cls_arch,
                  "Classifier: vgg19 (the paper's, from scratch) | faceapi (face-api's pretrained expression backbone, 112 px RGB inside) | "
                  "faceres (human's identity-pretrained MobileNet-v1, --backbone-side px RGB inside)")
      ->check(CLI::IsMember({"vgg19", "faceapi", "faceres"}));
  cmd->add_option("--backbone-side", c.model.backbone_side, "faceres: side the faces are resized to inside the net (0 = 112)")
      ->check(CLI::Range(0, 512));
  cmd->add_option("--pretrained", c.pretrained,
                  "Pretrained backbone weights: model folder (empty = the npm package setup installs: face-api's model/ or human's models/) | none");
  cmd->add_option("--cls-train-poses", c.cls_train_poses,
                  "Poses of the real faces the classifier trains on, comma-separated names (empty = all); G still sees every pose "
                  "(the unseen-poses protocol)");
  cmd->add_option("--backbone-lr", c.optim.cls_backbone_lr,
                  "Pretrained backbone's lr relative to --cls-lr (0 = frozen backbone, only the head trains)")
      ->check(CLI::Range(0.0, 10.0));
  cmd->add_option("--cls-schedule", c.optim.cls_schedule, "Classifier lr schedule: step (--decay-every) | cosine (warm-up, then cosine to 0)")
      ->check(CLI::IsMember({"step", "cosine"}));
  cmd->add_option("--cls-warmup", c.optim.cls_warmup, "Cosine schedule: warm-up epochs")->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--cls-cycle", c.optim.cls_cycle,
                  "Cosine schedule: restart it (warm-up included) every N epochs; 0 = one cosine over the run. "
                  "With --resume and --epochs it extends a finished cosine run by warm restarts")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--weight-decay", c.optim.cls_weight_decay, "Classifier L2 weight decay (0 = off)")->check(CLI::Range(0.0, 0.999));
  cmd->add_option("--gen-share", c.loss.gen_share,
                  "Classifier loss on generated faces: batch (their mean CE weighs as the real batch's, any k) | count (every face alike: k generated faces per real face C_exp trains on, the paper's union)")
      ->check(CLI::IsMember({"batch", "count"}));
  cmd->add_option("--cls-bn-stats", c.loss.cls_bn,
                  "Classifier batch norm with generated faces: shared (one batch) | real (generated faces in their own pass; running statistics from real faces only)")
      ->check(CLI::IsMember({"shared", "real"}));
  cmd->add_flag("--feedback-pose,!--no-feedback-pose", c.loss.feedback_pose,
                "The classifier feedback into G includes the pose head's loss (not in the paper)");
  cmd->add_option("--label-smoothing", c.loss.label_smoothing, "Label smoothing of the classifier's cross-entropy")
      ->check(CLI::Range(0.0, 0.999));
  cmd->add_flag("--aug-flip,!--no-aug-flip", c.augment.flip, "Classifier augmentation: mirror half the faces (pose labels mirrored)");
  cmd->add_option("--aug-shift", c.augment.shift, "Classifier augmentation: max shift, fraction of the side")->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--aug-scale", c.augment.scale, "Classifier augmentation: max zoom in/out, relative")->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--aug-rotate", c.augment.rotate, "Classifier augmentation: max rotation in degrees")->check(CLI::Range(0.0, 90.0));
  cmd->add_option("--aug-brightness", c.augment.brightness, "Classifier augmentation: max brightness offset")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--aug-contrast", c.augment.contrast, "Classifier augmentation: max relative contrast change")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--aug-erase", c.augment.erase, "Classifier augmentation: probability of erasing a random rectangle")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--precision", c.precision,
                  "Training steps' arithmetic: fp32 | bf16 (autocast: convolutions and matrix products in bfloat16, "
                  "1.2-1.6x faster on CPUs with AVX512-BF16/AMX; weights, losses and evaluation stay float32; docs/presets.md)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_flag("--tta-flip,!--no-tta-flip", c.tta_flip, "Average the classifier over each face and its mirror (validation, evaluate, classify)");
  cmd->add_option("--tta-crop", c.tta_crop,
                  "Test-time crops: also average the classifier over the 4 corner and the centre crops of side "
                  "(1 - F) N, resized back (0 = off; validation, evaluate, classify)")
      ->check(CLI::Range(0.0, 0.5));
  flags.no_pose_head = !c.model.pose_head;  // a preset may have switched it off
  cmd->add_flag("--no-pose-head", flags.no_pose_head, "Classifier without the pose head");
  cmd->add_option("--cls-dropout", c.model.cls_dropout, "Dropout probability in the classifier's FC layers (0 = off)")
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_flag("!--no-cls-bn", c.model.cls_batch_norm, "Classifier without batch norm (plain VGG-19)");
  cmd->add_flag("!--no-fast-deconv", c.model.fast_deconv,
                "G_dec with plain ConvTranspose2d instead of the polyphase form (same results, slower on CPU)");
  cmd->add_option("--upsample", c.model.upsample,
                  "How G_dec doubles its side: deconv (the paper's 5x5 stride-2 transposed convs) | resize "
                  "(nearest x2 + 3x3 conv, no checkerboard)")
      ->check(CLI::IsMember({"deconv", "resize"}));
  cmd->add_option("--g-codes", c.model.g_codes,
                  "G_dec's label codes: tiled (the authors' code: signed one-hot, tiled to weigh like f(x)) | "
                  "onehot (the paper as printed: 0/1, once)")
      ->check(CLI::IsMember({"tiled", "onehot"}));
  cmd->add_option("--init", c.model.init, "Weight init: normal (N(0,0.02)) | he")->check(CLI::IsMember({"normal", "he"}));
  cmd->add_option("--alpha", c.loss.alpha, "Weight of the L1 content loss")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--beta", c.loss.beta, "Weight of total variation")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--adv-att", c.loss.adv_att, "Weight of G's adversarial loss against D_att")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--adv-id", c.loss.adv_id, "Weight of G_enc's adversarial loss against D_i")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--cls-feedback", c.loss.cls_feedback, "Weight of the classifier loss on generated faces in G's loss (0 = off)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--cls-feedback-warmup", c.loss.cls_feedback_warmup, "Epochs before classifier feedback reaches G")->check(CLI::NonNegativeNumber);
  cmd->add_option("--adv-cross", c.loss.adv_cross, "Weight of G's adversarial loss on G(x_a, e_b, p_b) judged by D_att at (e_b, p_b) (0 = off, the paper)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--cross-l1", c.loss.cross_l1, "Weight of L1(G(x_a, e_b, p_b), x_b) for another photo b of the same person (0 = paper's objective)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--id-cycle", c.loss.id_cycle, "Weight of the identity-code cycle L1(G_enc(G(x, e', p')), f(x)) at random labels, G_enc held (0 = off, the paper)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--cross-pairs", c.loss.cross_pairs, "Cross-reconstruction partners: any = every photo of the person at other labels, one-factor = only those differing in expression alone or in pose alone (half each)")->check(CLI::IsMember({"any", "one-factor"}));
  cmd->add_option("--flip", c.flip, "Mirror half the training photos left-right (partners too), swapping mirrored poses: auto (left <-> right by name) or pairs a:b,c:d (empty = off)")
      ->check([](const std::string& v) {
        return v.empty() || v == "auto" || v.find(':') != std::string::npos
                   ? std::string()
                   : "expected auto or pose pairs a:b[,c:d...], got '" + v + "'";
      });
  cmd->add_option("--pose-cls", c.loss.pose_cls, "Weight of the classifier's pose loss")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--lr", c.optim.lr, "Adam learning rate of G, D_att, D_i")->check(CLI::Range(1e-7, 1.0));
  cmd->add_option("--cls-lr", c.optim.cls_lr, "Adam learning rate of the classifier")->check(CLI::Range(1e-7, 1.0));
  cmd->add_option("--beta1", c.optim.beta1, "Adam beta1")->check(CLI::Range(0.0, 0.999));
  cmd->add_option("--decay-every", c.optim.decay_every, "Staircase lr decay period in epochs (0 = off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--decay-factor", c.optim.decay_factor, "lr factor per decay step")->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--checkpoint-every", c.checkpoint_every, "Epochs between checkpoints")->check(CLI::Range(1, 100000));
  cmd->add_option("--checkpoint-minutes", c.checkpoint_minutes,
                  "Also checkpoint inside an epoch after this many minutes since the last write (0 = epoch ends only)")
      ->check(CLI::Range(0.0, 1e5));
  cmd->add_option("--seed", c.seed, "Seed of weights, shuffling, codes and dropout");
  cmd->add_option("--threads", c.threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--device", c.device, "cpu | cuda | auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--judge-epochs", job.eval.judge_epochs, "Epochs of the independent judge in the evaluation")->check(CLI::Range(1, 1000));
  cmd->add_flag("--select-on-val,!--no-select-on-val", c.select_on_val,
                "Keep best.pt (best validation accuracy); train, evaluate and classify then use it");
  cmd->add_option("--val-fraction", c.data.val_fraction,
                  "Validation subjects carved from the training part of k/K and subjects:F splits (fraction; 0 = none)")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_flag("--no-progress", flags.no_progress, "No progress bars");
}

void apply_run_flags(const RunFlags& flags, TrainJob& job) {
  job.config.progress = !flags.no_progress;
  job.eval.progress = !flags.no_progress;
  job.config.model.pose_head = !flags.no_pose_head;
}

namespace {
// The worker side of --nproc (hidden flags the launcher appends to the command line).
struct WorkerFlags {
  int rank = -1;  // >= 0: this process is worker `rank` of a data-parallel run
  int world_size = 0;
  int rendezvous_port = 0;
  std::string rendezvous_host = "127.0.0.1";  // the store's address (node 0)
  std::string gloo_host = "127.0.0.1";        // this node's address for Gloo ("auto" = from the hostname)
};

// Several machines (torchrun's conventions; launcher.h).
struct NodeFlags {
  int nnodes = 1;                        // machines, one launcher each
  int node_rank = 0;                     // this machine, 0 = the one holding the store
  std::string master_addr = "127.0.0.1";  // node 0's address, reachable from every machine
  std::string node_addr;                 // this machine's address for Gloo ("" = 127.0.0.1 on one machine, else the hostname's)
};
}  // namespace

std::shared_ptr<std::string> add_preset_option(CLI::App* cmd, const std::vector<std::string>& args, TrainConfig& c) {
  // --preset sets the recipe's values before the flags are defined, so the flags given on top
  // override it and --help shows the preset's values as the defaults.
  auto preset = std::make_shared<std::string>();
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--preset" && i + 1 < args.size()) *preset = args[i + 1];
    if (args[i].rfind("--preset=", 0) == 0) *preset = args[i].substr(9);
  }
  if (!preset->empty()) {
    const auto names = preset_names();
    if (std::find(names.begin(), names.end(), *preset) != names.end()) apply_preset(*preset, c);
  }
  std::string preset_help = "Training recipe (flags given too override it):";
  for (const auto& n : preset_names()) preset_help += "\n  " + n + ": " + preset_summary(n);
  cmd->add_option("--preset", *preset, preset_help)->check(CLI::IsMember(preset_names()));
  return preset;
}

Action add_train(CLI::App& app, std::vector<std::string> args) {
  auto* cmd = app.add_subcommand("train", "Train the joint model and the expression classifier");
  auto job = std::make_shared<TrainJob>();
  auto& c = job->config;
  auto resume_dir = std::make_shared<std::string>();
  auto no_eval = std::make_shared<bool>(false);
  auto flags = std::make_shared<RunFlags>();
  auto nproc = std::make_shared<int>(1);
  auto master_port = std::make_shared<int>(0);
  auto dist_timeout = std::make_shared<double>(kDefaultDistTimeoutS);
  auto dist_backend = std::make_shared<std::string>("auto");
  auto worker = std::make_shared<WorkerFlags>();
  auto node = std::make_shared<NodeFlags>();
  auto preset = add_preset_option(cmd, args, c);
  cmd->add_option("--data", c.data.spec, data_spec_help());
  cmd->add_option("--fold", c.data.fold, "Split: k/K (subject-independent fold), official, subjects:F");
  cmd->add_option("--split-seed", c.data.split_seed, "Seed of the subject shuffle behind the split");
  cmd->add_option("--out", job->run_dir, "Run directory (config, logs, checkpoint, evaluation)");
  cmd->add_option("--resume", *resume_dir, "Continue the run in this directory from its checkpoint");
  add_run_options(cmd, *job, *flags);
  cmd->add_option("--nproc", *nproc,
                  "Data-parallel worker processes (Gloo on 127.0.0.1); each takes batch/nproc images of every batch")
      ->check(CLI::Range(1, kMaxWorldSize));
  cmd->add_option("--master-port", *master_port,
                  "Rendezvous port for --nproc > 1 (0 = a free port; with --nnodes > 1 a fixed port on node 0)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--nnodes", node->nnodes, "Machines of a data-parallel run, each running this command with its --node-rank")
      ->check(CLI::Range(1, kMaxWorldSize));
  cmd->add_option("--node-rank", node->node_rank, "This machine's rank in [0, --nnodes); node 0 holds the rendezvous store")
      ->check(CLI::Range(0, kMaxWorldSize - 1));
  cmd->add_option("--master-addr", node->master_addr, "Node 0's address (reachable from every machine)");
  cmd->add_option("--node-addr", node->node_addr,
                  "This machine's address for the Gloo collectives (default: 127.0.0.1 with one node, "
                  "else the address its hostname resolves to)");
  cmd->add_option("--dist-timeout", *dist_timeout,
                  "Seconds before a rendezvous or collective op of --nproc > 1 gives up (a stuck peer)")
      ->check(CLI::Range(1.0, 604800.0));
  cmd->add_option("--dist-backend", *dist_backend,
                  "Collectives of --nproc > 1: gloo (CPU), nccl (GPUs; CUDA builds with -DPOSEFER_WITH_NCCL=ON, one "
                  "GPU per process on each machine), auto (nccl on --device cuda where built, else gloo)")
      ->check(CLI::IsMember({"auto", "gloo", "nccl"}))
      ->capture_default_str();
  // Set by the launcher for its workers; not for users.
  cmd->add_option("--rank", worker->rank)->group("");
  cmd->add_option("--world-size", worker->world_size)->group("");
  cmd->add_option("--rendezvous-port", worker->rendezvous_port)->group("");
  cmd->add_option("--rendezvous-host", worker->rendezvous_host)->group("");
  cmd->add_option("--gloo-host", worker->gloo_host)->group("");
  cmd->add_flag("--no-eval", *no_eval, "Skip the evaluation on the test part");
  cmd->add_flag("--migrate", job->migrate,
                "With --resume: continue a run written by an older posefer whose config lacks settings, "
                "giving them today's defaults (each one logged); without it such a resume is refused");

  return [=]() {
    (void)preset;  // kept alive with the action: CLI11 writes --preset's value into it
    TrainJob j = *job;
    apply_run_flags(*flags, j);
    j.evaluate = !*no_eval;
    if (!resume_dir->empty()) {
      if (!j.run_dir.empty() && j.run_dir != *resume_dir) {
        throw ConfigError("give either --resume DIR or --out DIR, not both");
      }
      j.run_dir = *resume_dir;
      j.resume = true;
      // The run continues with its stored settings: a flag that would change the model, the data
      // or the objective is refused, not silently dropped.
      static const std::set<std::string> kResumeFlags{"--resume", "--epochs", "--cls-cycle", "--threads", "--no-progress",
                                                      "--nproc", "--master-port", "--dist-timeout", "--rank",
                                                      "--nnodes", "--node-rank", "--master-addr", "--node-addr",
                                                      "--rendezvous-host", "--gloo-host",
                                                      "--world-size", "--rendezvous-port", "--no-eval",
                                                      "--judge-epochs", "--migrate", "--checkpoint-minutes"};
      for (const CLI::Option* opt : cmd->get_options()) {
        if (opt->count() == 0 || opt->get_lnames().empty()) continue;
        const auto& names = opt->get_lnames();
        const bool allowed = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
          return kResumeFlags.count("--" + n) > 0 || n == "help";
        });
        if (!allowed) {
          throw ConfigError("--resume " + *resume_dir + " continues the run with its stored settings; --" +
                            names.front() +
                            " would change it (with --resume only --epochs, --cls-cycle, --threads, --nproc, --checkpoint-minutes and "
                            "--no-progress apply)");
        }
      }
      if (cmd->count("--epochs") > 0) j.resume_epochs = j.config.epochs;
      if (cmd->count("--cls-cycle") > 0) j.resume_cls_cycle = j.config.optim.cls_cycle;
    } else {
      if (j.migrate) throw ConfigError("--migrate applies to --resume only");
      if (j.config.data.spec.empty()) throw ConfigError("--data is required (e.g. --data cmu:../shared/datasets/cmu-faces/faces)");
      if (j.run_dir.empty()) throw ConfigError("--out is required (the run directory)");
    }
    POSEFER_CHECK_CONFIG(node->node_rank < node->nnodes, "--node-rank must be in [0, --nnodes ", node->nnodes,
                         "), got ", node->node_rank);
    if (worker->rank < 0 && (*nproc > 1 || node->nnodes > 1)) {
      // The launcher: check what it can, then run this command line once per local worker.
      const int world = *nproc * node->nnodes;
      resolve_dist_backend(*dist_backend, resolve_device(j.config.device).is_cuda());
      check_data_parallel(j.resume ? read_checkpoint_config(j.run_dir + "/checkpoint.pt").batch_size
                                   : j.config.batch_size,
                          world);
      LaunchOptions lo;
      lo.exe = "/proc/self/exe";
      lo.world_size = *nproc;
      lo.nodes = node->nnodes;
      lo.node_rank = node->node_rank;
      lo.port = *master_port;
      lo.timeout_s = *dist_timeout;
      lo.should_stop = [] { return stop_requested(); };
      // "auto": the address the worker's hostname resolves to (an empty argv value reads badly).
      const std::string gloo = !node->node_addr.empty() ? node->node_addr : node->nnodes == 1 ? "127.0.0.1" : "auto";
      lo.args = [args, world, host = node->master_addr, gloo](int rank, int port) {
        auto a = args;
        for (const auto& [flag, v] : {std::pair<const char*, std::string>{"--rank", std::to_string(rank)},
                                      {"--world-size", std::to_string(world)},
                                      {"--rendezvous-port", std::to_string(port)},
                                      {"--rendezvous-host", host},
                                      {"--gloo-host", gloo}}) {
          a.push_back(flag);
          a.push_back(v);
        }
        return a;
      };
      return launch_workers(lo);
    }
    bool main_rank = true;
    if (worker->rank >= 0) {
      DistOptions d;
      d.rank = worker->rank;
      d.world_size = worker->world_size;
      d.port = worker->rendezvous_port;
      d.host = worker->rendezvous_host;
      d.gloo_host = worker->gloo_host == "auto" ? "" : worker->gloo_host;
      d.timeout_s = *dist_timeout;
      d.backend = resolve_dist_backend(*dist_backend, resolve_device(j.config.device).is_cuda());
      d.local_rank = worker->rank % *nproc;
      j.dist = DistContext::connect(d);
      main_rank = j.dist->is_main();
      if (!main_rank) {  // rank 0 speaks for the run
        j.config.progress = false;
        j.eval.progress = false;
        if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
      }
    }
    TrainHooks hooks;
    hooks.should_stop = [] { return stop_requested(); };
    auto r = run_train_job(j, hooks);
    if (!main_rank) return r.train.interrupted ? kInterruptedExitStatus : 0;
    if (r.train.interrupted) {
      std::cout << "interrupted; resume with: posefer train --resume " << j.run_dir << "\n";
      return kInterruptedExitStatus;
    }
    if (r.evaluated) {
      std::cout << r.eval.to_markdown("Test results: " + j.config.data.spec) << "\n";
    }
    std::cout << "run directory: " << j.run_dir << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
