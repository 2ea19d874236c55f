"""The engine's convolutional GANs (src/core/models/convGan.ts, layers.ts) in PyTorch.

Weights are a dict keyed by the engine's parameter names, in the engine's layouts (NHWC
activations; conv kernels [k, k, in, out]; transposed-conv kernels [k, k, out, in]; dense
[in, out]). Keeping names and layouts lets the parity harness copy weights and compare gradients
by name with no conversion table that could itself be wrong; the layout changes happen inside the
layer functions, next to the torch call that needs them.
"""

import math

import torch
import torch.nn.functional as F

LEAK = 0.2
BN_EPS = 1e-5
INIT_STD = 0.02


class Spec:
    """What the engine resolves from a config for a ConvGan (convGan.ts constructor)."""

    def __init__(self, model_type, z_dim, g_width, d_width, embed_dim, resolution, channels,
                 num_classes, d_norm, minibatch_std, group_size=0, pack=1, aux=0.0):  # fmt: skip
        self.type = model_type
        self.z_dim = z_dim
        self.resolution = resolution
        self.channels = channels
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        self.by_class = model_type in ("cgan", "icgan-class")
        self.d_norm = d_norm
        self.minibatch_std = minibatch_std
        self.group_size = group_size
        self.pack = pack
        # model.auxClassifier: AC-GAN's class head on D, for models that take a class label.
        self.aux = aux if self.by_class else 0.0
        levels = int(round(math.log2(resolution / 4)))
        assert 4 * 2**levels == resolution and levels >= 1
        self.g_channels = [g_width * 2 ** (levels - 1 - i) for i in range(levels)]
        self.d_channels = [d_width * 2**i for i in range(levels)]


# ---------------------------------------------------------------------------------------------
# Layers (layers.ts)


def nhwc_to_nchw(x):
    return x.permute(0, 3, 1, 2)


def nchw_to_nhwc(x):
    return x.permute(0, 2, 3, 1)


def dense(p, name, x, bias=True):
    y = x @ p[name + ".w"]
    return y + p[name + ".b"] if bias else y


def conv_down(p, name, x, bias=True):
    """4x4 stride-2 'same' conv; TF's 'same' pads 1 on each side here, as torch's padding=1."""
    w = p[name + ".w"].permute(3, 2, 0, 1)  # [k,k,in,out] -> [out,in,k,k]
    y = nchw_to_nhwc(F.conv2d(nhwc_to_nchw(x), w, stride=2, padding=1))
    return y + p[name + ".b"] if bias else y


def conv_up(p, name, x, bias=True):
    """4x4 stride-2 transposed conv; both frameworks' transposed convs are the input gradient of
    a cross-correlation, so [k,k,out,in] -> [in,out,k,k] is the whole conversion."""
    w = p[name + ".w"].permute(3, 2, 0, 1)
    y = nchw_to_nhwc(F.conv_transpose2d(nhwc_to_nchw(x), w, stride=2, padding=1))
    return y + p[name + ".b"] if bias else y


def moments(x):
    """Mean and biased variance over every axis but the last (tf.moments)."""
    axes = tuple(range(x.dim() - 1))
    mean = x.mean(dim=axes)
    var = ((x - mean) ** 2).mean(dim=axes)
    return mean, var


class BnMode:
    """'batch' (training), 'collect' (record batch stats into `out`), 'fixed' (use `stats`)."""

    def __init__(self, kind, stats=None):
        self.kind = kind
        self.stats = stats
        self.out = {}


BATCH = BnMode("batch")


def stats_for(mode, name, x):
    if mode.kind == "fixed":
        return mode.stats[name]
    m = moments(x)
    if mode.kind == "collect":
        mode.out.setdefault(name, []).append(tuple(t.detach() for t in m))
    return m


def batch_norm(p, name, x, mode):
    mean, var = stats_for(mode, name, x)
    return (x - mean) / torch.sqrt(var + BN_EPS) * p[name + ".gamma"] + p[name + ".beta"]


def conditional_batch_norm(p, name, x, cond, mode):
    mean, var = stats_for(mode, name, x)
    normalised = (x - mean) * torch.rsqrt(var + BN_EPS)
    per_sample = [x.shape[0]] + [1] * (x.dim() - 2) + [x.shape[-1]]
    gamma = (1 + dense(p, name + ".gain", cond)).reshape(per_sample)
    beta = dense(p, name + ".shift", cond).reshape(per_sample)
    return normalised * gamma + beta


def l2_normalise(x):
    return x / (torch.linalg.norm(x) + 1e-12)


def spectral_normalised(p, weight_name, u_name):
    """One power iteration from the persistent u (updated in place), then W / sigma; u and v are
    constants for backprop (as in Miyato et al. and torch.nn.utils.spectral_norm)."""
    w = p[weight_name]
    fan_out = w.shape[-1]
    mat = w.reshape(-1, fan_out)
    u = p[u_name]
    with torch.no_grad():
        v = l2_normalise(mat @ u.reshape(fan_out, 1))
        u1 = l2_normalise(mat.t() @ v)
        u.copy_(u1.reshape(fan_out))
    sigma = ((mat @ u1) * v).sum()
    return w / sigma


def minibatch_std(h, group=0):
    """Per group of consecutive images (0: the batch), the mean over features of the standard
    deviation within the group, as a channel of the group's images."""
    b = h.shape[0]
    g = group if group > 0 and b % group == 0 else b
    grouped = h.reshape(b // g, g, *h.shape[1:])
    var, _ = torch.var_mean(grouped, dim=1, unbiased=False)
    sd = torch.sqrt(var + 1e-8).mean(dim=(1, 2, 3))
    per_image = sd.repeat_interleave(g).reshape(b, 1, 1, 1)
    return torch.cat([h, torch.ones_like(h[..., :1]) * per_image], dim=-1)


# ---------------------------------------------------------------------------------------------
# The model (convGan.ts)


def one_hot(labels, n, dtype):
    return F.one_hot(labels.long(), n).to(dtype)


def generate(spec, p, z, labels, mode):
    emb = one_hot(labels, spec.num_classes, z.dtype) @ p["embed"] if spec.by_class else None

    def norm(name, x):
        if emb is not None:
            return conditional_batch_norm(p, name, x, emb, mode)
        return batch_norm(p, name, x, mode)

    c0 = spec.g_channels[0]
    h = torch.relu(norm("bn0", dense(p, "fc", z, bias=False)))
    h = h.reshape(z.shape[0], 4, 4, c0)
    for i in range(1, len(spec.g_channels)):
        h = torch.relu(norm("bn%d" % i, conv_up(p, "up%d" % i, h, bias=False)))
    return torch.tanh(conv_up(p, "out", h))


def spectral_weights(spec, p):
    out = dict(p)
    for i in range(len(spec.d_channels)):
        out["down%d.w" % i] = spectral_normalised(p, "down%d.w" % i, "down%d.u" % i)
    out["logit.w"] = spectral_normalised(p, "logit.w", "logit.u")
    if spec.by_class:
        out["project"] = spectral_normalised(p, "project", "project.u")
    return out


def discriminate(spec, params, x, labels, with_classes=False):
    spectral = spec.d_norm == "spectral"
    p = spectral_weights(spec, params) if spectral else params
    if spec.pack > 1:
        b, hh, ww, c = x.shape
        x = x.reshape(b // spec.pack, spec.pack, hh, ww, c).permute(0, 2, 3, 1, 4).reshape(b // spec.pack, hh, ww, spec.pack * c)
    h = F.leaky_relu(conv_down(p, "down0", x), LEAK)
    for i in range(1, len(spec.d_channels)):
        if spectral:
            h = F.leaky_relu(conv_down(p, "down%d" % i, h), LEAK)
        else:
            h = F.leaky_relu(batch_norm(p, "bn%d" % i, conv_down(p, "down%d" % i, h, False), BATCH), LEAK)
    if spec.minibatch_std:
        h = minibatch_std(h, spec.group_size)
    phi = h.reshape(h.shape[0], -1)
    logit = dense(p, "logit", phi).reshape(-1)
    if spec.by_class:
        proj = one_hot(labels, spec.num_classes, x.dtype) @ p["project"]
        logit = logit + (proj * phi).sum(1)
    if with_classes:
        return logit, (dense(p, "aux", phi) if spec.aux > 0 else None)
    return logit


def judges_together(spec, batch):
    """convGan.ts judgesTogether: D may judge real and fake as one batch of 2·batch."""
    if spec.d_norm != "spectral" or spec.pack != 1:
        return False
    return not spec.minibatch_std or (spec.group_size > 0 and batch % spec.group_size == 0)


def judge(spec, params, real, fake, labels):
    """trainingSession.ts judge: D's real logits, fake logits and class logits on the real batch,
    in one call on both batches where judges_together allows it."""
    b = real.shape[0]
    if not judges_together(spec, b):
        real_logits, real_classes = discriminate(spec, params, real, labels, True)
        return real_logits, discriminate(spec, params, fake, labels), real_classes
    both = None if labels is None else torch.cat([labels, labels])
    logits, classes = discriminate(spec, params, torch.cat([real, fake]), both, True)
    return logits[:b], logits[b:], (None if classes is None else classes[:b])


# ---------------------------------------------------------------------------------------------
# Losses (losses.ts), Adam, EMA (train/)


def d_loss(kind, real, fake):
    if kind == "hinge":
        return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def with_class_loss(spec, loss, class_logits, labels):
    """AC-GAN's term (losses.ts classLoss) added to a loss, where D has a class head."""
    if class_logits is None:
        return loss
    return loss + spec.aux * F.cross_entropy(class_logits, labels)


def g_loss(kind, fake):
    if kind == "hinge":
        return -fake.mean()
    return F.softplus(-fake).mean()


class Adam:
    """torch.optim.Adam's update over a named dict (the reference the engine must match)."""

    def __init__(self, params, lr, beta1, beta2, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, beta1, beta2, eps
        self.t = 0
        self.m = {k: torch.zeros_like(v) for k, v in params.items()}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()}

    @torch.no_grad()
    def apply(self, grads):
        self.t += 1
        bc1 = 1 - self.b1**self.t
        bc2 = 1 - self.b2**self.t
        for k, g in grads.items():
            self.m[k].mul_(self.b1).add_(g, alpha=1 - self.b1)
            self.v[k].mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            denom = (self.v[k].sqrt() / math.sqrt(bc2)).add_(self.eps)
            self.params[k].addcdiv_(self.m[k], denom, value=-self.lr / bc1)


def ema_decay_at(decay, t):
    return min(decay, (1 + t) / (10 + t))


@torch.no_grad()
def update_ema(ema, params, decay):
    for k, e in ema.items():
        e.mul_(decay).add_(params[k], alpha=1 - decay)


def trainable(name):
    """The power-iteration vectors are state, not parameters (no gradient, no optimiser)."""
    return not name.endswith(".u")


# ---------------------------------------------------------------------------------------------
# Initialisation (convGan.ts buildGenerator / buildDiscriminator, with torch's random stream)


def init_params(spec, gen):
    """The engine's initial distributions: N(0, 0.02) weights, N(0, 1) class embedding, zero
    biases, unit BN gains, N(0, 1) power-iteration vectors."""

    def normal(*shape, std=INIT_STD):
        return torch.randn(*shape, generator=gen) * std

    g = {}
    cond_dim = spec.embed_dim if spec.by_class else 0
    if spec.by_class:
        g["embed"] = normal(spec.num_classes, spec.embed_dim, std=1.0)
    c0 = spec.g_channels[0]
    g["fc.w"] = normal(spec.z_dim, 16 * c0)

    def norm(name, channels):
        if cond_dim:
            g[name + ".gain.w"] = normal(cond_dim, channels)
            g[name + ".gain.b"] = torch.zeros(channels)
            g[name + ".shift.w"] = normal(cond_dim, channels)
            g[name + ".shift.b"] = torch.zeros(channels)
        else:
            g[name + ".gamma"] = torch.ones(channels)
            g[name + ".beta"] = torch.zeros(channels)

    norm("bn0", 16 * c0)
    for i in range(1, len(spec.g_channels)):
        g["up%d.w" % i] = normal(4, 4, spec.g_channels[i], spec.g_channels[i - 1])
        norm("bn%d" % i, spec.g_channels[i])
    g["out.w"] = normal(4, 4, spec.channels, spec.g_channels[-1])
    g["out.b"] = torch.zeros(spec.channels)

    d = {}
    spectral = spec.d_norm == "spectral"
    cin = spec.channels * spec.pack
    for i, cout in enumerate(spec.d_channels):
        d["down%d.w" % i] = normal(4, 4, cin, cout)
        if spectral:
            d["down%d.u" % i] = normal(cout, std=1.0)
        if i == 0 or spectral:
            d["down%d.b" % i] = torch.zeros(cout)
        else:
            d["bn%d.gamma" % i] = torch.ones(cout)
            d["bn%d.beta" % i] = torch.zeros(cout)
        cin = cout
    features = 16 * (cin + (1 if spec.minibatch_std else 0))
    d["logit.w"] = normal(features, 1)
    d["logit.b"] = torch.zeros(1)
    if spectral:
        d["logit.u"] = normal(1, std=1.0)
    if spec.by_class:
        d["project"] = normal(spec.num_classes, features)
        if spectral:
            d["project.u"] = normal(features, std=1.0)
    if spec.aux > 0:
        d["aux.w"] = normal(features, spec.num_classes)
        d["aux.b"] = torch.zeros(spec.num_classes)
    return g, d


# ---------------------------------------------------------------------------------------------
# Differentiable augmentation (train/diffAugment.ts), NHWC, with torch's random stream


def diff_augment(x, cfg, gen):
    if not cfg:
        return x
    b, h, w, c = x.shape
    if cfg.get("colour"):
        per = lambda: torch.rand(b, 1, 1, 1, generator=gen, dtype=x.dtype)  # noqa: E731
        x = x + (per() - 0.5)
        if c > 1:
            grey = x.mean(3, keepdim=True)
            x = (x - grey) * (per() * 2) + grey
        mean = x.mean((1, 2, 3), keepdim=True)
        x = (x - mean) * (per() + 0.5) + mean
    t = cfg.get("translation", 0)
    if t > 0:
        sy, sx = round(h * t), round(w * t)
        padded = torch.nn.functional.pad(x, (0, 0, sx, sx, sy, sy))
        dy = torch.randint(0, 2 * sy + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * sx + 1, (b,), generator=gen)
        x = torch.stack([padded[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    k = cfg.get("cutout", 0)
    if k > 0:
        ch, cw = max(1, round(h * k)), max(1, round(w * k))
        mask = torch.ones(b, h, w, 1, dtype=x.dtype)
        cy = torch.randint(0, h + (1 - ch % 2), (b,), generator=gen)
        cx = torch.randint(0, w + (1 - cw % 2), (b,), generator=gen)
        for i in range(b):
            y0, x0 = max(0, cy[i] - ch // 2), max(0, cx[i] - cw // 2)
            mask[i, y0 : max(0, cy[i] - ch // 2 + ch), x0 : max(0, cx[i] - cw // 2 + cw)] = 0
        x = x * mask
    return x
