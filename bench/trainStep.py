"""PyTorch side of bench/trainStep.ts: the engine's training steps, mirrored layer for layer.

Run by bench/trainStep.ts under Debian's python3-torch 1.13 unpacked into .cache/peers/torch
(see bench/peers/torchPeer.ts), or alone with the environment that module returns:

    python3 -s bench/trainStep.py [--workloads dcgan,icgan,ss] [--reps 10] [--warmup 2]
                                  [--threads 2] [--json]

Workloads (the shapes are those of the TypeScript engine, src/core/...; NCHW here, NHWC there,
which changes no layer's size or cost):

  dcgan  DCGAN-32, the reference model of shared/notes/tfjs-backends.md (models/convGan.ts,
         type 'dcgan', zDim 100, widths 32, batch 64): 542,308 parameters.
  icgan  the IC-GAN of examples/shapes-icgan.icgan.json at 32x32 (type 'icgan', zDim 64, widths
         16, embedDim 32, dNorm batch, minibatch std, batch 32, instance features of the default
         self-supervised extractor: 128-d): conditional batch norm in G driven by a linear
         projection of h, projection discriminator (P.h).phi(x) in D.
  ss     one step of the self-supervised SimCLR encoder (features/contrastiveEncoder.ts with the
         defaults of features/featureSettings.ts): 64 images of 32x32 area-averaged to 16x16, two
         augmented views each, 3 conv blocks 16/32/128, global average pool, projection head
         128-128-64, NT-Xent at temperature 0.2, Adam(2e-3, 0.9, 0.999).

One GAN training step is what TrainingSession.trainStep does with dStepsPerG 1: a batch of real
images (and, for IC-GAN, the instances they were drawn for), fakes from G without gradient, one D
update on real and fake (D sees them as two separate batches, as its batch norm and minibatch
statistic must), then one G update through D (D's weights get no gradient), Adam(2e-4, 0.5,
0.999) on both, the non-saturating loss, the EMA copy of G updated, and the losses read back.

Prints a table (or with --json one JSON line) with the median ms/step over --reps steps after
--warmup steps, GFLOP/s from the analytic count below, and the parameter counts.
"""

import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

LEAK = 0.2
BN_EPS = 1e-5
INIT_STD = 0.02

# ---------------------------------------------------------------------------------------------
# Configurations: the values the engine resolves for each workload (schema defaults included).

DCGAN = dict(
    type="dcgan", z_dim=100, g_width=32, d_width=32, embed_dim=64, feature_dim=0,
    num_classes=0, minibatch_std=False, resolution=32, channels=3, batch=64,
)  # fmt: skip
ICGAN = dict(
    type="icgan", z_dim=64, g_width=16, d_width=16, embed_dim=32, feature_dim=128,
    num_classes=0, minibatch_std=True, resolution=32, channels=3, batch=32,
)  # fmt: skip
SS = dict(
    input_size=16, dim=128, width=16, blocks=3, projection_dim=64, batch=64, lr=2e-3,
    temperature=0.2, resolution=32, channels=3,
    # DEFAULT_AUGMENT of featureSettings.ts
    crop_min=0.8, crop_max=1.5, max_aspect=1.0, flip=0.5, jitter=0.8, brightness=0.8,
    contrast=0.8, saturation=0.8, hue=0.5, grey=0.2,
)  # fmt: skip
GAN_TRAINING = dict(lr=2e-4, beta1=0.5, beta2=0.999, ema_decay=0.999)


# ---------------------------------------------------------------------------------------------
# The conv GAN of src/core/models/convGan.ts.


def levels_for(resolution):
    levels = int(round(math.log2(resolution / 4)))
    assert 4 * 2**levels == resolution and levels >= 1
    return levels


def normal(*shape, std=INIT_STD):
    return nn.Parameter(torch.randn(*shape) * std)


class Norm(nn.Module):
    """Batch norm with batch statistics (the engine's BATCH_STATS): plain (gamma, beta) or
    conditional (gain and shift linear in the condition, scale 1 + gain), layers.ts."""

    def __init__(self, channels, cond_dim):
        super().__init__()
        self.conditional = cond_dim > 0
        if self.conditional:
            self.gain = nn.Linear(cond_dim, channels)
            self.shift = nn.Linear(cond_dim, channels)
            for lin in (self.gain, self.shift):
                nn.init.normal_(lin.weight, std=INIT_STD)
                nn.init.zeros_(lin.bias)
        else:
            self.gamma = nn.Parameter(torch.ones(channels))
            self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x, cond):
        if not self.conditional:
            return F.batch_norm(x, None, None, self.gamma, self.beta, True, 0.0, BN_EPS)
        normalised = F.batch_norm(x, None, None, None, None, True, 0.0, BN_EPS)
        per_sample = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        gamma = (1 + self.gain(cond)).reshape(per_sample)
        beta = self.shift(cond).reshape(per_sample)
        return normalised * gamma + beta


class Generator(nn.Module):
    def __init__(self, c):
        super().__init__()
        levels = levels_for(c["resolution"])
        self.channels = [c["g_width"] * 2 ** (levels - 1 - i) for i in range(levels)]
        self.by_instance = c["feature_dim"] > 0
        self.by_class = c["num_classes"] > 0
        cond_dim = c["embed_dim"] * (int(self.by_instance) + int(self.by_class))
        c0 = self.channels[0]
        if self.by_class:
            self.embed = nn.Parameter(torch.randn(c["num_classes"], c["embed_dim"]))
        if self.by_instance:
            # h is unit-norm: N(0, 1) weights give the projection unit-variance outputs.
            self.hproj = nn.Linear(c["feature_dim"], c["embed_dim"])
            nn.init.normal_(self.hproj.weight, std=1.0)
            nn.init.zeros_(self.hproj.bias)
        self.fc = nn.Linear(c["z_dim"], 16 * c0, bias=False)
        nn.init.normal_(self.fc.weight, std=INIT_STD)
        self.norms = nn.ModuleList([Norm(16 * c0, cond_dim)])
        self.ups = nn.ModuleList()
        for cin, cout in zip(self.channels, self.channels[1:]):
            self.ups.append(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False))
            self.norms.append(Norm(cout, cond_dim))
        self.out = nn.ConvTranspose2d(self.channels[-1], c["channels"], 4, 2, 1, bias=True)
        for conv in [*self.ups, self.out]:
            nn.init.normal_(conv.weight, std=INIT_STD)
        nn.init.zeros_(self.out.bias)

    def forward(self, z, h=None, y=None):
        parts = []
        if self.by_instance:
            parts.append(self.hproj(h))
        if self.by_class:
            parts.append(F.one_hot(y, self.embed.shape[0]).float() @ self.embed)
        cond = torch.cat(parts, 1) if parts else None
        x = F.relu(self.norms[0](self.fc(z), cond))
        x = x.reshape(z.shape[0], self.channels[0], 4, 4)
        for up, norm in zip(self.ups, self.norms[1:]):
            x = F.relu(norm(up(x), cond))
        return torch.tanh(self.out(x))


class Discriminator(nn.Module):
    def __init__(self, c):
        super().__init__()
        levels = levels_for(c["resolution"])
        channels = [c["d_width"] * 2**i for i in range(levels)]
        self.minibatch_std = c["minibatch_std"]
        self.downs = nn.ModuleList()
        self.bns = nn.ModuleList()
        cin = c["channels"]
        for i, cout in enumerate(channels):
            # The first conv has a bias; the others are followed by batch norm instead.
            self.downs.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0))
            nn.init.normal_(self.downs[-1].weight, std=INIT_STD)
            if i == 0:
                nn.init.zeros_(self.downs[-1].bias)
            else:
                self.bns.append(Norm(cout, 0))
            cin = cout
        features = 16 * (cin + int(self.minibatch_std))
        self.logit = nn.Linear(features, 1)
        nn.init.normal_(self.logit.weight, std=INIT_STD)
        nn.init.zeros_(self.logit.bias)
        self.project = normal(c["num_classes"], features) if c["num_classes"] > 0 else None
        self.hproject = normal(c["feature_dim"], features) if c["feature_dim"] > 0 else None

    def forward(self, x, h=None, y=None):
        x = F.leaky_relu(self.downs[0](x), LEAK)
        for conv, bn in zip(self.downs[1:], self.bns):
            x = F.leaky_relu(bn(conv(x), None), LEAK)
        if self.minibatch_std:
            sd = torch.sqrt(x.var(0, unbiased=False) + 1e-8).mean()
            x = torch.cat([x, sd.expand(x.shape[0], 1, x.shape[2], x.shape[3])], 1)
        phi = x.flatten(1)
        logit = self.logit(phi).reshape(-1)
        if self.project is not None:
            proj = F.one_hot(y, self.project.shape[0]).float() @ self.project
            logit = logit + (proj * phi).sum(1)
        if self.hproject is not None:
            logit = logit + ((h @ self.hproject) * phi).sum(1)
        return logit


def count(module):
    return sum(p.numel() for p in module.parameters())


def gan_flops(c):
    """FLOPs of one training step, counted like bench/trainStep.ts: multiply-adds per image of
    every conv and dense layer (a transposed conv's per input position), a D update = D forward
    and backward (2x forward) on real and fake plus G forward, a G update = G and D forward, D
    backward to its input only (1x), G backward (2x)."""
    levels = levels_for(c["resolution"])
    gc = [c["g_width"] * 2 ** (levels - 1 - i) for i in range(levels)]
    dc = [c["d_width"] * 2**i for i in range(levels)]
    e, fd, res, ch = c["embed_dim"], c["feature_dim"], c["resolution"], c["channels"]
    cond = e * (int(fd > 0) + int(c["num_classes"] > 0))
    g = fd * e + c["z_dim"] * 16 * gc[0] + 2 * cond * 16 * gc[0]
    for i in range(1, levels):
        g += (4 * 2 ** (i - 1)) ** 2 * 16 * gc[i - 1] * gc[i] + 2 * cond * gc[i]
    g += (res // 2) ** 2 * 16 * gc[-1] * ch
    d, cin = 0, ch
    for i, cout in enumerate(dc):
        d += (res // 2 ** (i + 1)) ** 2 * 16 * cin * cout
        cin = cout
    features = 16 * (cin + int(c["minibatch_std"]))
    d += features
    if c["num_classes"] > 0:
        d += features
    if fd > 0:
        d += fd * features + features
    return 2 * c["batch"] * (3 * 2 * d + g + g + d + d + 2 * g)


class GanStep:
    def __init__(self, c, seed=0):
        torch.manual_seed(seed)
        self.c = c
        self.G = Generator(c)
        self.D = Discriminator(c)
        self.ema = [p.detach().clone() for p in self.G.parameters()]
        t = GAN_TRAINING
        betas = (t["beta1"], t["beta2"])
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=t["lr"], betas=betas, eps=1e-8)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=t["lr"], betas=betas, eps=1e-8)
        # Stand-ins for the data and the instance index: the step's cost does not depend on
        # what the images or features are. Unit-norm h, like the engine's.
        n = 2048
        self.images = torch.rand(n, c["channels"], c["resolution"], c["resolution"]) * 2 - 1
        self.k = 5
        self.neighbours = torch.randint(0, n, (n, self.k))
        self.features = (
            F.normalize(torch.randn(n, c["feature_dim"]), dim=1) if c["feature_dim"] else None
        )
        self.labels = torch.randint(0, max(1, c["num_classes"]), (n,))
        self.updates = 0

    def draw(self, batch):
        n = self.images.shape[0]
        h = y = None
        if self.features is not None:
            # Instance-balanced sampling: instance i uniformly, then a neighbour of i as the image.
            inst = torch.randint(0, n, (batch,))
            idx = self.neighbours[inst, torch.randint(0, self.k, (batch,))]
            h = self.features[inst]
        else:
            idx = torch.randint(0, n, (batch,))
        if self.c["num_classes"] > 0:
            y = self.labels[idx]
        return self.images[idx], h, y

    def step(self):
        b = self.c["batch"]
        G, D = self.G, self.D
        real, h, y = self.draw(b)
        z = torch.randn(b, self.c["z_dim"])
        with torch.no_grad():
            fake = G(z, h, y)
        real_logits = D(real, h, y)
        fake_logits = D(fake, h, y)
        d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        probs = torch.stack([torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()])

        z = torch.randn(b, self.c["z_dim"])
        D.requires_grad_(False)
        g_loss = F.softplus(-D(G(z, h, y), h, y)).mean()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        D.requires_grad_(True)

        # EMA generator (train/ema.ts: the decay warms up over the first updates).
        decay = min(GAN_TRAINING["ema_decay"], (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        with torch.no_grad():
            for e, p in zip(self.ema, G.parameters()):
                e.mul_(decay).add_(p, alpha=1 - decay)
        # The engine reads the losses back every step (dataSync), which waits for the work.
        return torch.cat([d_loss.detach().reshape(1), probs.detach(), g_loss.detach().reshape(1)])

    def params(self):
        return count(self.G), count(self.D)


# ---------------------------------------------------------------------------------------------
# The self-supervised encoder step of src/core/features/contrastiveEncoder.ts.

LUMA = torch.tensor([0.299, 0.587, 0.114])
RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def augment(x, s):
    """Random views as augment.ts draws them (11 uniforms per image): a random resized crop that
    may zoom out (reflected border), a flip, colour jitter as one 3x3 matrix per image plus a
    contrast offset, and greyscale. The crop is a grid sample (the engine: CropAndResize)."""
    n, _, hgt, wid = x.shape
    u = torch.rand(n, 11)
    area = s["crop_min"] + (s["crop_max"] - s["crop_min"]) * u[:, 0]
    aspect = torch.exp(math.log(s["max_aspect"]) * (2 * u[:, 1] - 1))
    limit = torch.where(area > 1, torch.full_like(area, math.inf), torch.ones_like(area))
    h = torch.minimum(limit, torch.sqrt(area / aspect))
    w = torch.minimum(limit, torch.sqrt(area * aspect))
    y1 = u[:, 2] * (1 - h)
    x1 = u[:, 3] * (1 - w)
    flip = torch.where(u[:, 4] < s["flip"], -1.0, 1.0)
    # Box in [0, 1] image coordinates -> affine map of the [-1, 1] output grid.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = w * flip
    theta[:, 0, 2] = 2 * x1 + w - 1
    theta[:, 1, 1] = h
    theta[:, 1, 2] = 2 * y1 + h - 1
    grid = F.affine_grid(theta, [n, 3, hgt, wid], align_corners=True)
    cropped = F.grid_sample(x, grid, "bilinear", "reflection", align_corners=True)

    jitter = u[:, 5] < s["jitter"]

    def factor(strength, v):
        return torch.where(jitter, 1 + strength * (2 * v - 1), torch.ones_like(v))

    brightness = factor(s["brightness"], u[:, 6])
    contrast = factor(s["contrast"], u[:, 7])
    grey = u[:, 10] < s["grey"]
    saturation = torch.where(grey, torch.zeros_like(u[:, 8]), factor(s["saturation"], u[:, 8]))
    angle = torch.where(jitter, s["hue"] * (2 * u[:, 9] - 1), torch.zeros_like(u[:, 9]))
    angle = 2 * math.pi * angle
    rotate = torch.zeros(n, 3, 3)
    rotate[:, 0, 0] = 1
    rotate[:, 1, 1] = torch.cos(angle)
    rotate[:, 1, 2] = -torch.sin(angle)
    rotate[:, 2, 1] = torch.sin(angle)
    rotate[:, 2, 2] = torch.cos(angle)
    sat = (1 - saturation)[:, None, None] * LUMA[None, None, :] + saturation[
        :, None, None
    ] * torch.eye(3)
    mat = (brightness * contrast)[:, None, None] * (YIQ_TO_RGB @ rotate @ RGB_TO_YIQ @ sat)
    offset = (1 - contrast) * brightness

    unit = (cropped + 1) * 0.5
    pixels = unit.reshape(n, 3, -1)  # [n, 3, HW]
    mixed = mat @ pixels
    mean_luma = (LUMA[None, :, None] * pixels).sum(1).mean(1)
    shifted = mixed + (offset * mean_luma)[:, None, None]
    return (shifted.clamp(0, 1) * 2 - 1).reshape(n, 3, hgt, wid)


class Encoder(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        cin = s["channels"]
        for b in range(s["blocks"]):
            cout = s["dim"] if b == s["blocks"] - 1 else s["width"] * 2**b
            conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=False)
            nn.init.normal_(conv.weight, std=math.sqrt(2 / (16 * cin)))  # He, as buildParams
            self.convs.append(conv)
            self.bns.append(Norm(cout, 0))
            cin = cout

    def forward(self, x):
        for conv, bn in zip(self.convs, self.bns):
            x = F.relu(bn(conv(x), None))
        return x.mean((2, 3))


class Head(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.fc1 = nn.Linear(s["dim"], s["dim"], bias=False)
        self.bn = Norm(s["dim"], 0)
        self.fc2 = nn.Linear(s["dim"], s["projection_dim"])
        nn.init.normal_(self.fc1.weight, std=math.sqrt(2 / s["dim"]))
        nn.init.normal_(self.fc2.weight, std=math.sqrt(2 / s["dim"]))
        nn.init.zeros_(self.fc2.bias)

    def forward(self, h):
        return self.fc2(F.relu(self.bn(self.fc1(h), None)))


def nt_xent(z, temperature):
    """features/ntXent.ts: each view must pick its partner (i <-> i + n) by cosine similarity."""
    rows = z.shape[0]
    unit = z / torch.sqrt((z * z).sum(1, keepdim=True) + 1e-12)
    logits = unit @ unit.t() / temperature - torch.eye(rows) * 1e9
    targets = (torch.arange(rows) + rows // 2) % rows
    return F.cross_entropy(logits, targets)


def ss_flops(s):
    """Multiply-adds of the convs, the head and the similarity matrix; backward = 2x forward
    except the first conv, whose input needs no gradient (1x)."""
    views = 2 * s["batch"]
    hw, cin, convs = s["input_size"], s["channels"], []
    for b in range(s["blocks"]):
        cout = s["dim"] if b == s["blocks"] - 1 else s["width"] * 2**b
        hw //= 2
        convs.append(hw * hw * 16 * cin * cout)
        cin = cout
    head = s["dim"] * s["dim"] + s["dim"] * s["projection_dim"]
    similarity = views * s["projection_dim"]  # per view: one row of the views x views product
    per_view = 2 * convs[0] + 3 * (sum(convs[1:]) + head + similarity)
    return 2 * views * per_view


class SsStep:
    def __init__(self, s, seed=0):
        torch.manual_seed(seed)
        self.s = s
        self.encoder = Encoder(s)
        self.head = Head(s)
        params = [*self.encoder.parameters(), *self.head.parameters()]
        self.opt = torch.optim.Adam(params, lr=s["lr"], betas=(0.9, 0.999), eps=1e-8)
        r = s["resolution"]
        self.images = torch.rand(2048, s["channels"], r, r) * 2 - 1

    def step(self):
        s = self.s
        x = self.images[torch.randperm(self.images.shape[0])[: s["batch"]]]
        with torch.no_grad():
            factor = s["resolution"] // s["input_size"]
            small = F.avg_pool2d(x, factor) if factor > 1 else x
            views = torch.cat([augment(small, s), augment(small, s)])
        loss = nt_xent(self.head(self.encoder(views)), s["temperature"])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def params(self):
        return count(self.encoder), count(self.head)


# ---------------------------------------------------------------------------------------------


def openblas_corename():
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def measure(workload, reps, warmup):
    if workload == "dcgan":
        runner, flops = GanStep(DCGAN), gan_flops(DCGAN)
    elif workload == "icgan":
        runner, flops = GanStep(ICGAN), gan_flops(ICGAN)
    elif workload == "ss":
        runner, flops = SsStep(SS), ss_flops(SS)
    else:
        sys.exit(f"unknown workload {workload!r} (dcgan, icgan, ss)")
    for _ in range(warmup):
        runner.step().tolist()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        runner.step().tolist()  # reading the values back, as the engine does, ends the step
        times.append((time.perf_counter() - t0) * 1000)
    a, b = runner.params()
    return {
        "workload": workload,
        "timesMs": times,
        "medianMs": statistics.median(times),
        "minMs": min(times),
        "flops": flops,
        # G and D, or encoder and projection head
        "params": [a, b],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="dcgan,icgan,ss")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    # Debian's build counts physical cores for its default, which is 1 on some 2-vCPU machines.
    torch.set_num_threads(args.threads)
    results = [measure(w, args.reps, args.warmup) for w in args.workloads.split(",") if w]
    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "corename": openblas_corename(),
        "coretypeEnv": os.environ.get("OPENBLAS_CORETYPE", ""),
        "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY", ""),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }
    if args.json:
        print(json.dumps(info))
        return
    print(
        f"PyTorch {info['torch']}, {info['threads']} threads, OpenBLAS core {info['corename']}, "
        f"OMP_WAIT_POLICY={info['ompWaitPolicy'] or '(unset)'}; "
        f"median of {args.reps} after {args.warmup} warm-up steps"
    )
    print()
    print("| workload | ms/step (median) | min | GFLOP/step | GFLOP/s | parameters |")
    print("|---|---|---|---|---|---|")
    for r in results:
        gflop = r["flops"] / 1e9
        print(
            f"| {r['workload']} | {r['medianMs']:.1f} | {r['minMs']:.1f} | {gflop:.3f} | "
            f"{gflop / (r['medianMs'] / 1000):.2f} | "
            f"{sum(r['params']):,} ({r['params'][0]:,} + {r['params'][1]:,}) |"
        )


if __name__ == "__main__":
    main()
