#!/usr/bin/python3
"""PyTorch reference of posefer's joint training step, for side-by-side timing.

A plain PyTorch (Python) implementation of the same networks and the same training step as
posefer's C++ Trainer::train_step (src/train/trainer.cpp) with every warm-up past, as
bench/bench_train_step.cpp runs it: D_att step, D_i step, G step with classifier feedback,
extra G step(s), classifier step on real + k*B generated faces. Run it with Debian's
python3-torch 1.13 (/usr/bin/python3), which uses the same libtorch_cpu as the C++ build.

Usage: /usr/bin/python3 bench/reference/joint_step.py [--sizes 64,128] [--batch 32] [--runs 5]
           [--warmup 1] [--threads 0] [--gen-width 1] [--disc-width 1] [--cls-width 0.5]
           [--k 1] [--extra-g-steps 1] [--seed 1] [--check]

Prints one row per size: median / min / max img/s over `runs` timed steps after `warmup`
untimed ones, forward+backward GFLOP per step (counted analytically, see flops_per_step) and
the GFLOP/s achieved, and the peak RSS of the process so far (getrusage ru_maxrss).
--check prints parameter counts per network and the FLOP count checked against forward hooks.
"""

import argparse
import math
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- config

@dataclass
class ModelConfig:  # include/posefer/core/config.h ModelConfig defaults
    image_size: int = 64
    channels: int = 3
    num_expressions: int = 4
    num_poses: int = 4
    id_dim: int = 50
    gen_width: float = 1.0
    disc_width: float = 1.0
    cls_width: float = 0.5
    pose_head: bool = True
    cls_batch_norm: bool = True
    init: str = "he"


@dataclass
class TrainConfig:  # LossConfig + OptimConfig + TrainConfig defaults
    alpha: float = 1.0
    beta: float = 1e-4
    adv_att: float = 1e-4
    adv_id: float = 1e-4
    cls_feedback: float = 0.01
    pose_cls: float = 1.0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    cls_lr: float = 2e-4
    gen_k: int = 1
    extra_g_steps: int = 1


def scaled_channels(base, width):
    # max(4, std::lround(base * width)): round half away from zero (not Python's round()).
    return max(4, int(math.floor(base * width + 0.5)))


# ----------------------------------------------------------------------------- label codes

def signed_one_hot(labels, n):
    code = torch.full((labels.size(0), n), -1.0)
    return code.scatter_(1, labels.unsqueeze(1), 1.0)


def tile_code(code, times):
    return code.repeat(1, times)  # the whole code repeated, [c, c, ..., c]


# ----------------------------------------------------------------------------- networks

class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        layers, cin = [], c.channels
        for base in (64, 128, 256, 512, 1024):
            out = scaled_channels(base, c.gen_width)
            layers += [nn.Conv2d(cin, out, 5, stride=2, padding=2), nn.ReLU()]
            cin = out
        self.convs = nn.Sequential(*layers)
        side = c.image_size // 32
        self.fc = nn.Linear(cin * side * side, c.id_dim)

    def forward(self, x):
        return torch.tanh(self.fc(self.convs(x).flatten(1)))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.expression_tiles = max(1, c.id_dim // c.num_expressions)
        self.pose_tiles = max(1, c.id_dim // 2)  # as the C++ code: d/2, not d/P
        self.side = c.image_size // 32
        self.base_channels = scaled_channels(1024, c.gen_width)
        in_dim = c.id_dim + c.num_expressions * self.expression_tiles + c.num_poses * self.pose_tiles
        self.fc = nn.Linear(in_dim, self.base_channels * self.side * self.side)
        layers, cin = [], self.base_channels
        for base in (512, 256, 128, 64, 32):
            out = scaled_channels(base, c.gen_width)
            layers += [nn.ConvTranspose2d(cin, out, 5, stride=2, padding=2, output_padding=1), nn.ReLU()]
            cin = out
        c16 = scaled_channels(16, c.gen_width)
        layers += [nn.ConvTranspose2d(cin, c16, 5, stride=1, padding=2), nn.ReLU(),
                   nn.ConvTranspose2d(c16, c.channels, 5, stride=1, padding=2), nn.Tanh()]
        self.deconvs = nn.Sequential(*layers)

    def forward(self, f, expression, pose):
        e = tile_code(signed_one_hot(expression, self.c.num_expressions), self.expression_tiles)
        p = tile_code(signed_one_hot(pose, self.c.num_poses), self.pose_tiles)
        z = torch.cat([f, e, p], 1)
        h = F.relu(self.fc(z)).view(-1, self.base_channels, self.side, self.side)
        return self.deconvs(h)


class Generator(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)

    def forward(self, x, expression, pose):
        return self.decoder(self.encoder(x), expression, pose)


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 5, stride=2, padding=2), nn.BatchNorm2d(cout), nn.ReLU()]


class DAtt(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        c16 = scaled_channels(16, c.disc_width)
        self.stem = nn.Sequential(*conv_bn_relu(c.channels, c16))
        layers, cin = [], c16 + c.num_expressions + c.num_poses
        for base in (32, 64, 128):
            out = scaled_channels(base, c.disc_width)
            layers += conv_bn_relu(cin, out)
            cin = out
        self.body = nn.Sequential(*layers)
        side = c.image_size // 16
        hidden = scaled_channels(1024, c.disc_width)
        self.head = nn.Sequential(nn.Linear(cin * side * side, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, 1))

    def forward(self, x, expression, pose):
        h = self.stem(x)
        codes = torch.cat([signed_one_hot(expression, self.c.num_expressions),
                           signed_one_hot(pose, self.c.num_poses)], 1)
        maps = codes[:, :, None, None].expand(-1, -1, h.size(2), h.size(3))
        h = self.body(torch.cat([h, maps], 1))
        return self.head(h.flatten(1)).squeeze(1)


class DId(nn.Module):
    def __init__(self, c):
        super().__init__()
        layers, cin = [], c.id_dim
        for out in (64, 32, 16):
            layers += [nn.Linear(cin, out), nn.BatchNorm1d(out), nn.ReLU()]
            cin = out
        layers.append(nn.Linear(cin, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, f):
        return self.layers(f).squeeze(1)


VGG19_BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))


class Classifier(nn.Module):
    def __init__(self, c):
        super().__init__()
        layers, cin = [], c.channels
        for count, base in VGG19_BLOCKS:
            out = scaled_channels(base, c.cls_width)
            for _ in range(count):
                layers.append(nn.Conv2d(cin, out, 3, padding=1))
                if c.cls_batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU())
                cin = out
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        side = c.image_size // 32
        hidden = scaled_channels(4096, c.cls_width)
        self.fc = nn.Sequential(nn.Linear(cin * side * side, hidden), nn.ReLU(), nn.Dropout(0.5),
                                nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.5))
        self.expression_head = nn.Linear(hidden, c.num_expressions)
        self.pose_head = nn.Linear(hidden, c.num_poses) if c.pose_head else None

    def forward(self, x):
        h = self.fc(self.features(x).flatten(1))
        return self.expression_head(h), (self.pose_head(h) if self.pose_head is not None else None)


def init_weights(module, scheme):
    # src/model/generator.cpp init_weights: conv / conv-transpose / linear weights He (Kaiming normal,
    # fan-in, ReLU gain) or N(0, 0.02), biases 0, batch-norm scales 1.
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if scheme == "he":
                    nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in", nonlinearity="relu")
                else:
                    m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.fill_(1.0)
                m.bias.zero_()


# ----------------------------------------------------------------------------- losses

def content_l1(a, b):
    return (a - b).abs().mean()


def total_variation(x):
    b, _, h, w = x.shape
    dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum()
    dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
    return (dh + dw) / (b * h * w)


def adversarial_bce(logits, real):
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


# ----------------------------------------------------------------------------- the joint model

class JointModel:
    def __init__(self, mc, tc):
        self.mc, self.tc = mc, tc
        self.gen, self.d_att, self.d_i, self.cls = Generator(mc), DAtt(mc), DId(mc), Classifier(mc)
        for net in (self.gen, self.d_att, self.d_i, self.cls):
            init_weights(net, mc.init)
        betas = (tc.beta1, tc.beta2)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=tc.lr, betas=betas)
        self.opt_d_att = torch.optim.Adam(self.d_att.parameters(), lr=tc.lr, betas=betas)
        self.opt_d_i = torch.optim.Adam(self.d_i.parameters(), lr=tc.lr, betas=betas)
        self.opt_cls = torch.optim.Adam(self.cls.parameters(), lr=tc.cls_lr, betas=betas)

    def train(self):
        for net in (self.gen, self.d_att, self.d_i, self.cls):
            net.train()

    def class_loss(self, out_e, out_p, e, p):
        c = F.cross_entropy(out_e, e)
        if out_p is not None:
            c = c + self.tc.pose_cls * F.cross_entropy(out_p, p)
        return c

    def generator_step(self, x, e, p, feedback, update_discriminators):
        tc, losses, generated = self.tc, {}, None
        f = self.gen.encoder(x)
        recon = self.gen.decoder(f, e, p)
        if update_discriminators:
            self.opt_d_att.zero_grad()
            d_loss = (adversarial_bce(self.d_att(x, e, p), True) +
                      adversarial_bce(self.d_att(recon.detach(), e, p), False))
            d_loss.backward()
            self.opt_d_att.step()
            losses["d_att"] = d_loss.item()

            self.opt_d_i.zero_grad()
            prior = torch.rand_like(f) * 2 - 1
            i_loss = adversarial_bce(self.d_i(prior), True) + adversarial_bce(self.d_i(f.detach()), False)
            i_loss.backward()
            self.opt_d_i.step()
            losses["d_i"] = i_loss.item()

        self.opt_g.zero_grad()
        l1 = content_l1(recon, x)
        tv = total_variation(recon)
        g_att = adversarial_bce(self.d_att(recon, e, p), True)
        g_id = adversarial_bce(self.d_i(f), True)
        total = tc.alpha * l1 + tc.beta * tv + tc.adv_att * g_att + tc.adv_id * g_id
        if feedback:
            e2 = torch.randint(0, self.mc.num_expressions, (x.size(0),))
            p2 = torch.randint(0, self.mc.num_poses, (x.size(0),))
            fake = self.gen.decoder(f, e2, p2)
            c = self.class_loss(*self.cls(fake), e2, p2)
            total = total + tc.cls_feedback * c
            losses["g_cls"] = c.item()
            generated = (fake.detach(), e2, p2)
        total.backward()
        self.opt_g.step()
        losses.update(l1=l1.item(), tv=tv.item(), g_adv_att=g_att.item(), g_adv_id=g_id.item(),
                      g_total=total.item())
        return losses, generated

    def train_step(self, x, e, p):
        """Trainer::train_step with every warm-up past (the bench's epoch 1000)."""
        tc = self.tc
        self.train()
        feedback = tc.cls_feedback > 0
        losses, generated = self.generator_step(x, e, p, feedback, True)
        for _ in range(tc.extra_g_steps):
            self.generator_step(x, e, p, False, False)

        # Classifier on real + k*B generated faces in one forward (shared batch-norm statistics).
        xs, es, ps = [x], [e], [p]
        if tc.gen_k > 0:
            with torch.no_grad():
                for k in range(tc.gen_k):
                    if k == 0 and generated is not None:
                        xs.append(generated[0])
                        es.append(generated[1])
                        ps.append(generated[2])
                        continue
                    e2 = torch.randint(0, self.mc.num_expressions, (x.size(0),))
                    p2 = torch.randint(0, self.mc.num_poses, (x.size(0),))
                    xs.append(self.gen(x, e2, p2))
                    es.append(e2)
                    ps.append(p2)
        self.opt_cls.zero_grad()
        out_e, out_p = self.cls(torch.cat(xs, 0))
        all_e, all_p = torch.cat(es, 0), torch.cat(ps, 0)
        b = x.size(0)
        c_real = self.class_loss(out_e[:b], None if out_p is None else out_p[:b], e, p)
        c_loss = c_real
        if tc.gen_k > 0:
            c_gen = self.class_loss(out_e[b:], None if out_p is None else out_p[b:], all_e[b:], all_p[b:])
            c_loss = c_loss + c_gen
            losses["c_gen"] = c_gen.item()
        c_loss.backward()
        self.opt_cls.step()
        losses["c_real"] = c_real.item()
        losses["c_acc"] = (out_e[:b].detach().argmax(1) == e).float().mean().item()
        return losses


# ----------------------------------------------------------------------------- FLOP counting
#
# Multiply-accumulates (MACs) per image of one forward pass, from the layer shapes alone:
#   conv:            H_out * W_out * C_out * C_in * k * k
#   conv-transpose:  H_in  * W_in  * C_in  * C_out * k * k   (every input pixel scatters a k x k x C_out patch)
#   linear:          in * out
# Batch norm, activations, pooling, losses and the optimiser are not counted.

def encoder_macs(c):
    macs, cin, side = 0, c.channels, c.image_size
    for base in (64, 128, 256, 512, 1024):
        out = scaled_channels(base, c.gen_width)
        side //= 2
        macs += side * side * out * cin * 25
        cin = out
    return macs + cin * (c.image_size // 32) ** 2 * c.id_dim


def decoder_macs(c):
    side = c.image_size // 32
    cin = scaled_channels(1024, c.gen_width)
    in_dim = (c.id_dim + c.num_expressions * max(1, c.id_dim // c.num_expressions) +
              c.num_poses * max(1, c.id_dim // 2))
    macs = in_dim * cin * side * side
    for base in (512, 256, 128, 64, 32):
        out = scaled_channels(base, c.gen_width)
        macs += side * side * cin * out * 25
        side *= 2
        cin = out
    c16 = scaled_channels(16, c.gen_width)
    return macs + side * side * 25 * (cin * c16 + c16 * c.channels)


def d_att_macs(c):
    c16 = scaled_channels(16, c.disc_width)
    side = c.image_size // 2
    macs = side * side * c16 * c.channels * 25
    cin = c16 + c.num_expressions + c.num_poses
    for base in (32, 64, 128):
        out = scaled_channels(base, c.disc_width)
        side //= 2
        macs += side * side * out * cin * 25
        cin = out
    hidden = scaled_channels(1024, c.disc_width)
    return macs + cin * side * side * hidden + hidden


def d_i_macs(c):
    return c.id_dim * 64 + 64 * 32 + 32 * 16 + 16


def classifier_macs(c):
    macs, cin, side = 0, c.channels, c.image_size
    for count, base in VGG19_BLOCKS:
        out = scaled_channels(base, c.cls_width)
        for _ in range(count):
            macs += side * side * out * cin * 9
            cin = out
        side //= 2
    hidden = scaled_channels(4096, c.cls_width)
    heads = c.num_expressions + (c.num_poses if c.pose_head else 0)
    return macs + cin * side * side * hidden + hidden * hidden + hidden * heads


def flops_per_step(mc, tc, batch):
    """FLOPs of one joint step: 2 per MAC; x3 for a pass that is back-propagated (forward +
    gradient w.r.t. inputs + gradient w.r.t. weights), x1 for a forward-only pass."""
    extra = tc.extra_g_steps
    trained = {  # images through each net per step, all of them back-propagated
        "G_enc": (1 + extra) * batch,                 # recon in each G step
        "G_dec": (2 + extra) * batch,                 # recon in each G step + feedback fake
        "D_att": (3 + extra) * batch,                 # real, detached recon, G's term (+ extra)
        "D_i": (3 + extra) * batch,                   # prior, detached f, G's term (+ extra)
        "C_exp": batch + (1 + tc.gen_k) * batch,      # feedback fakes + classifier step on real + kB
    }
    fwd_only = max(0, tc.gen_k - 1) * batch           # further generated faces under no_grad
    macs = {"G_enc": encoder_macs(mc), "G_dec": decoder_macs(mc), "D_att": d_att_macs(mc),
            "D_i": d_i_macs(mc), "C_exp": classifier_macs(mc)}
    total = sum(3 * 2 * macs[k] * n for k, n in trained.items())
    total += 2 * (macs["G_enc"] + macs["G_dec"]) * fwd_only
    return total, macs


def hooked_macs(net, *inputs):
    """MACs of one forward of `net` on `inputs`, measured by forward hooks (checks the formulas)."""
    count = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.ConvTranspose2d):
            count[0] += inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Conv2d):
            count[0] += out.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            count[0] += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    net.eval()
    with torch.no_grad():
        net(*inputs)
    for h in handles:
        h.remove()
    return count[0] // inputs[0].size(0)


# ----------------------------------------------------------------------------- main

def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,128", help="image sides N, comma-separated")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--runs", type=int, default=5, help="timed steps per size")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before them")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = all cores)")
    ap.add_argument("--gen-width", type=float, default=1.0)
    ap.add_argument("--disc-width", type=float, default=1.0)
    ap.add_argument("--cls-width", type=float, default=0.5)
    ap.add_argument("--k", type=int, default=1, help="generated faces per real face for C_exp")
    ap.add_argument("--extra-g-steps", type=int, default=1)
    ap.add_argument("--num-expressions", type=int, default=4)
    ap.add_argument("--num-poses", type=int, default=4)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--breakdown", action="store_true",
                    help="after each size, time each network's passes of one step alone (the profile)")
    ap.add_argument("--check", action="store_true",
                    help="print parameter counts per net and check the FLOP formulas, then exit")
    a = ap.parse_args(argv)
    try:
        a.sizes = [int(s) for s in a.sizes.split(",") if s]
    except ValueError:
        ap.error("--sizes: not a list of integers: " + a.sizes)
    if not a.sizes or any(n < 32 or n % 32 for n in a.sizes):
        ap.error("--sizes: each N must be a multiple of 32")
    if a.batch < 2 or a.runs < 1 or a.warmup < 0 or a.threads < 0 or a.k < 0 or a.extra_g_steps < 0:
        ap.error("need --batch >= 2, --runs >= 1, --warmup/--threads/--k/--extra-g-steps >= 0")
    return a


def configs(a, n):
    mc = ModelConfig(image_size=n, channels=a.channels, num_expressions=a.num_expressions,
                     num_poses=a.num_poses, gen_width=a.gen_width, disc_width=a.disc_width,
                     cls_width=a.cls_width)
    return mc, TrainConfig(gen_k=a.k, extra_g_steps=a.extra_g_steps)


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def check(a):
    print("parameter counts (same order and config as the C++ JointModel):")
    print("%5s  %12s  %12s  %12s  %12s  %8s  %12s" % ("N", "G", "G_enc", "G_dec", "D_att", "D_i", "C_exp"))
    ok = True
    for n in a.sizes:
        mc, tc = configs(a, n)
        torch.manual_seed(a.seed)
        m = JointModel(mc, tc)
        print("%5d  %12d  %12d  %12d  %12d  %8d  %12d" % (
            n, n_params(m.gen), n_params(m.gen.encoder), n_params(m.gen.decoder), n_params(m.d_att),
            n_params(m.d_i), n_params(m.cls)))
        # FLOP formulas against forward hooks on a batch of 2.
        x = torch.rand(2, mc.channels, n, n) * 2 - 1
        e = torch.randint(0, mc.num_expressions, (2,))
        p = torch.randint(0, mc.num_poses, (2,))
        _, macs = flops_per_step(mc, tc, a.batch)
        hooked = {"G_enc": hooked_macs(m.gen.encoder, x),
                  "G_dec": hooked_macs(m.gen.decoder, torch.rand(2, mc.id_dim), e, p),
                  "D_att": hooked_macs(m.d_att, x, e, p),
                  "D_i": hooked_macs(m.d_i, torch.rand(2, mc.id_dim)),
                  "C_exp": hooked_macs(m.cls, x)}
        for k in macs:
            if macs[k] != hooked[k]:
                ok = False
                print("  FLOP formula mismatch for %s: formula %d MACs, hooks %d" % (k, macs[k], hooked[k]))
        print("       forward MMAC/image: " + ", ".join("%s %.1f" % (k, v / 1e6) for k, v in macs.items()))
        # One training step, to show the reference runs and its losses are finite.
        m.train_step(x, e, p)
        losses = m.train_step(x, e, p)
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        ok = ok and not bad
        print("       one step on a batch of 2: " +
              " ".join("%s %.4g" % (k, v) for k, v in sorted(losses.items())))
    print("check: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def time_median(runs, fn):
    fn()
    s = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        s.append(time.perf_counter() - t0)
    return statistics.median(s)


def print_breakdown(m, x, e, p, runs, step_s):
    """Each network's forward + backward passes of one step, timed alone at the step's shapes in
    training mode (as posefer_bench --breakdown; plain PyTorch computes every weight gradient)."""
    m.train()
    f = m.gen.encoder(x).detach()
    xg = x.detach().clone().requires_grad_(True)
    f2 = f.clone().requires_grad_(True)
    x2 = torch.cat([x, x], 0)
    rows = [
        ("G_enc f+b (G steps)", 2, lambda: m.gen.encoder(x).sum().backward()),
        ("G_dec f+b (recon x2, feedback)", 3, lambda: m.gen.decoder(f, e, p).sum().backward()),
        ("D_att f+b (D step: real, fake)", 2, lambda: m.d_att(x, e, p).sum().backward()),
        ("D_att f+b to input (G steps)", 2, lambda: m.d_att(xg, e, p).sum().backward()),
        ("D_i f+b (D step x2, G steps x2)", 4, lambda: m.d_i(f2).sum().backward()),
        ("C_exp f+b on real + generated", 1, lambda: m.cls(x2)[0].sum().backward()),
        ("C_exp f+b to input (feedback)", 1, lambda: m.cls(xg)[0].sum().backward()),
    ]
    print("  profile at N = %d (per pass: median of %d after 1 warm-up)" % (x.size(2), runs))
    print("  %-34s %7s %10s %10s %7s" % ("part", "passes", "ms/pass", "ms/step", "share"))
    total = 0.0
    for part, passes, fn in rows:
        sec = time_median(runs, fn)
        ms = 1e3 * sec * passes
        total += ms
        print("  %-34s %7d %10.1f %10.1f %6.1f%%" % (part, passes, 1e3 * sec, ms, 100 * ms / (1e3 * step_s)))
    for net in (m.gen, m.d_att, m.d_i, m.cls):
        net.zero_grad()
    rest = 1e3 * step_s - total
    print("  %-34s %7s %10s %10.1f %6.1f%%" % ("rest (Adam, losses, glue)", "", "", rest, 100 * rest / (1e3 * step_s)))
    print("  %-34s %7s %10s %10.1f\n" % ("step (median)", "", "", 1e3 * step_s))


def bench(a):
    # 0 = every core, as the C++ bench (std::thread::hardware_concurrency).
    threads = a.threads if a.threads > 0 else max(1, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print("joint_step.py: batch %d, %d run(s) after %d warm-up(s), %d thread(s), gen_width %g, "
          "disc_width %g, cls_width %g, k = %d, extra_g_steps %d, PyTorch %s (Python), CPU\n" % (
              a.batch, a.runs, a.warmup, threads, a.gen_width, a.disc_width, a.cls_width, a.k,
              a.extra_g_steps, torch.__version__))
    print("%5s  %10s  %9s  %9s  %9s  %10s  %9s  %12s" % (
        "N", "step ms", "img/s", "min", "max", "GFLOP/step", "GFLOP/s", "peak RSS MiB"))
    sys.stdout.flush()
    for n in a.sizes:
        mc, tc = configs(a, n)
        torch.manual_seed(a.seed)
        m = JointModel(mc, tc)
        x = torch.rand(a.batch, mc.channels, n, n) * 2 - 1
        e = torch.randint(0, mc.num_expressions, (a.batch,))
        p = torch.randint(0, mc.num_poses, (a.batch,))
        for _ in range(a.warmup):
            m.train_step(x, e, p)
        step_s = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            m.train_step(x, e, p)
            step_s.append(time.perf_counter() - t0)
        ips = [a.batch / s for s in step_s]
        flops, _ = flops_per_step(mc, tc, a.batch)
        med = statistics.median(step_s)
        print("%5d  %10.1f  %9.2f  %9.2f  %9.2f  %10.2f  %9.2f  %12.0f" % (
            n, 1e3 * med, statistics.median(ips), min(ips), max(ips), flops / 1e9,
            flops / 1e9 / med, peak_rss_mib()))
        sys.stdout.flush()
        if a.breakdown:
            print_breakdown(m, x, e, p, a.runs, med)
            sys.stdout.flush()
    print("\nimg/s = real images per joint step / step time; GFLOP/s = analytic GFLOP per step / "
          "median step time;\npeak RSS is the process maximum so far.")
    return 0


def main(argv):
    a = parse_args(argv)
    return check(a) if a.check else bench(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
