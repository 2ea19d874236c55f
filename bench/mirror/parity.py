"""Replays a recording of bench/parity.ts in the PyTorch mirror and compares, check by check.

    python3 -s bench/mirror/parity.py DIR

Each figure is the largest absolute difference divided by the largest magnitude of the engine's
tensor (so 1e-6 is float32 rounding). Each check is made twice: the mirror in float32 (the peer
as users run it) and in float64 (the exact answer to the same sums). When the engine is far from
float64 but the float32 mirror is close to it, the engine is wrong; when both are equally far,
the difference is rounding amplified by the computation (e.g. a batch-norm over a tiny variance).
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import convgan as cg  # noqa: E402

TOL = {"grad": 2e-4, "loss": 1e-5, "param": 2e-5, "stats": 1e-4, "sample": 1e-4}


def load(dir_):
    with open(os.path.join(dir_, "bundle.json")) as f:
        manifest = json.load(f)
    flat = np.fromfile(os.path.join(dir_, "bundle.f32"), dtype="<f4")
    arrays = {}
    for e in manifest["tensors"]:
        size = int(np.prod(e["shape"])) if e["shape"] else 1
        arrays[e["name"]] = flat[e["offset"] : e["offset"] + size].reshape(e["shape"])
    return manifest["meta"], arrays


def group(arrays, prefix, dtype):
    n = len(prefix) + 1
    return {
        k[n:]: torch.tensor(v, dtype=dtype)
        for k, v in arrays.items()
        if k.startswith(prefix + "/")
    }


def rel(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(np.abs(a).max(), 1e-12)
    return float(np.abs(a - b).max() / scale)


class Report:
    def __init__(self, title):
        self.title = title
        self.rows = []  # (check, kind, worst name, engine vs f64, mirror32 vs f64)

    def add(self, check, kind, pairs):
        """pairs: name -> (engine, mirror32, mirror64) arrays."""
        worst = max(pairs.items(), key=lambda kv: rel(kv[1][0], kv[1][2]))
        name, (e, m32, m64) = worst
        self.rows.append((check, kind, name, rel(e, m64), rel(m32, m64)))

    def print(self):
        print("\n## %s\n" % self.title)
        print("| check | worst tensor | engine vs exact | torch f32 vs exact | tolerance | |")
        print("|---|---|---|---|---|---|")
        failed = False
        for check, kind, name, e, m in self.rows:
            # Beyond tolerance AND clearly worse than float32 torch: a real divergence.
            bad = e > TOL[kind] and e > 10 * m
            failed |= bad
            print("| %s | %s | %.2e | %.2e | %.0e | %s |" % (check, name, e, m, TOL[kind], "FAIL" if bad else "ok"))
        return failed


def spec_of(meta):
    m = meta["model"]
    r = meta["resolved"]
    return cg.Spec(m["type"], m["zDim"], m["gWidth"], m["dWidth"], m["embedDim"],
                   meta["image"]["resolution"], meta["image"]["channels"], meta["numClasses"],
                   r["dNorm"], r["minibatchStd"],
                   m.get("groupSize", 0), m.get("pack", 1), m.get("auxClassifier", 0))  # fmt: skip


def step_inputs(arrays, t, dtype):
    real = torch.tensor(arrays["s%d/real" % t], dtype=dtype)
    labels = arrays.get("s%d/labels" % t)
    labels = torch.tensor(labels).long() if labels is not None else None
    z_d = torch.tensor(arrays["s%d/zD" % t], dtype=dtype)
    z_g = torch.tensor(arrays["s%d/zG" % t], dtype=dtype)
    return real, labels, z_d, z_g


def d_update(spec, loss_kind, g, d, real, labels, z_d):
    """The engine's D update: fakes without gradient, D on real and fake (cg.judge)."""
    with torch.no_grad():
        fake = cg.generate(spec, g, z_d, labels, cg.BATCH)
    dp = {k: (v.clone().requires_grad_(True) if cg.trainable(k) else v) for k, v in d.items()}
    real_logits, fake_logits, real_classes = cg.judge(spec, dp, real, fake, labels)
    loss = cg.with_class_loss(spec, cg.d_loss(loss_kind, real_logits, fake_logits), real_classes, labels)
    grads = torch.autograd.grad(loss, [dp[k] for k in dp if cg.trainable(k)])
    names = [k for k in dp if cg.trainable(k)]
    probs = [torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()]
    # The updated power-iteration vectors are D's new state.
    state = {k: v for k, v in dp.items() if not cg.trainable(k)}
    return loss.item(), probs, dict(zip(names, grads)), state


def g_update(spec, loss_kind, g, d, labels, z_g):
    gp = {k: v.clone().requires_grad_(True) for k, v in g.items()}
    fake = cg.generate(spec, gp, z_g, labels, cg.BATCH)
    fake_logits, fake_classes = cg.discriminate(spec, d, fake, labels, True)
    loss = cg.with_class_loss(spec, cg.g_loss(loss_kind, fake_logits), fake_classes, labels)
    grads = torch.autograd.grad(loss, list(gp.values()))
    return loss.item(), dict(zip(gp.keys(), grads))


def teacher_forced(meta, arrays, dtype):
    """Per step: start from the engine's weights; return what the mirror computes."""
    spec = spec_of(meta)
    t_cfg = meta["training"]
    out = []
    g = group(arrays, "init/G", dtype)
    d = group(arrays, "init/D", dtype)
    # Adam fed the engine's own gradients from the engine's initial state: its moments then
    # evolve exactly as the engine's should, so the update itself is checked at every step.
    g_train = {k: v.clone() for k, v in g.items()}
    d_train = {k: v.clone() for k, v in d.items() if cg.trainable(k)}
    opt_g = cg.Adam(g_train, t_cfg["gLr"], t_cfg["beta1"], t_cfg["beta2"])
    opt_d = cg.Adam(d_train, t_cfg["dLr"], t_cfg["beta1"], t_cfg["beta2"])
    ema = group(arrays, "init/EMA", dtype)
    for t in range(meta["steps"]):
        real, labels, z_d, z_g = step_inputs(arrays, t, dtype)
        d_in = {k: v.clone() for k, v in d.items()}
        d_loss, probs, d_grads, d_state = d_update(spec, t_cfg["loss"], g, d_in, real, labels, z_d)
        # G's update runs through D after D's update: the engine's weights after step t, with
        # the power-iteration vectors as the mirror's D update left them.
        d_after = group(arrays, "s%d/D" % t, dtype)
        d_for_g = {k: (d_state[k] if k in d_state else v) for k, v in d_after.items()}
        g_loss, g_grads = g_update(spec, t_cfg["loss"], g, d_for_g, labels, z_g)
        eng_gd = group(arrays, "s%d/gradD" % t, dtype)
        eng_gg = group(arrays, "s%d/gradG" % t, dtype)
        opt_d.apply(eng_gd)
        opt_g.apply(eng_gg)
        g_after = group(arrays, "s%d/G" % t, dtype)
        cg.update_ema(ema, g_after, cg.ema_decay_at(t_cfg["emaDecay"], t))
        out.append(dict(
            loss=[d_loss, probs[0], probs[1], g_loss], grad_d=d_grads, grad_g=g_grads,
            adam_g={k: v.clone() for k, v in g_train.items()},
            adam_d={k: v.clone() for k, v in d_train.items()},
            ema={k: v.clone() for k, v in ema.items()},
            u={k: v.clone() for k, v in d_for_g.items() if not cg.trainable(k)},
        ))  # fmt: skip
        g = g_after
        d = d_after
        ema = group(arrays, "s%d/EMA" % t, dtype)
    return out


def free_running(meta, arrays, dtype):
    """The mirror trains every step on its own from the initial weights (same inputs)."""
    spec = spec_of(meta)
    t_cfg = meta["training"]
    g = group(arrays, "init/G", dtype)
    d = group(arrays, "init/D", dtype)
    opt_g = cg.Adam(g, t_cfg["gLr"], t_cfg["beta1"], t_cfg["beta2"])
    d_train = {k: v for k, v in d.items() if cg.trainable(k)}
    opt_d = cg.Adam(d_train, t_cfg["dLr"], t_cfg["beta1"], t_cfg["beta2"])
    ema = group(arrays, "init/EMA", dtype)
    losses = []
    for t in range(meta["steps"]):
        real, labels, z_d, z_g = step_inputs(arrays, t, dtype)
        d_loss, probs, d_grads, d_state = d_update(spec, t_cfg["loss"], g, d, real, labels, z_d)
        for k, v in d_state.items():
            d[k] = v.detach()
        opt_d.apply(d_grads)
        g_loss, g_grads = g_update(spec, t_cfg["loss"], g, d, labels, z_g)
        opt_g.apply(g_grads)
        cg.update_ema(ema, g, cg.ema_decay_at(t_cfg["emaDecay"], t))
        losses.append([d_loss, probs[0], probs[1], g_loss])
    return dict(g=g, d=d, ema=ema, losses=losses)


def sampler(meta, arrays, dtype):
    """Standing statistics of the engine's final EMA generator from the engine's draws, and a
    batch sampled with them."""
    spec = spec_of(meta)
    ema = group(arrays, "s%d/EMA" % (meta["steps"] - 1), dtype)
    mode = cg.BnMode("collect")
    b = 0
    with torch.no_grad():
        while "stand/%d/z" % b in arrays:
            z = torch.tensor(arrays["stand/%d/z" % b], dtype=dtype)
            lab = arrays.get("stand/%d/labels" % b)
            cg.generate(spec, ema, z, torch.tensor(lab).long() if lab is not None else None, mode)
            b += 1
        stats = {
            k: (torch.stack([m for m, _ in v]).mean(0), torch.stack([s for _, s in v]).mean(0))
            for k, v in mode.out.items()
        }
        lab = arrays.get("sample/labels")
        out = cg.generate(spec, ema, torch.tensor(arrays["sample/z"], dtype=dtype),
                          torch.tensor(lab).long() if lab is not None else None,
                          cg.BnMode("fixed", stats))  # fmt: skip
    return stats, out


def main():
    dir_ = sys.argv[1]
    meta, arrays = load(dir_)
    torch.set_num_threads(2)
    report = Report("%s: engine (tfjs %s) vs PyTorch %s mirror, %d steps" % (
        meta["case"], meta["backend"], torch.__version__, meta["steps"]))  # fmt: skip
    tf32 = teacher_forced(meta, arrays, torch.float32)
    tf64 = teacher_forced(meta, arrays, torch.float64)
    for t in range(meta["steps"]):
        eng_loss = arrays["s%d/loss" % t]
        a, b = tf32[t], tf64[t]
        report.add("step %d losses, D(real), D(fake)" % t, "loss",
                   {"losses": (eng_loss, a["loss"], b["loss"])})  # fmt: skip
        for who, key in (("D", "grad_d"), ("G", "grad_g")):
            eng = {k: arrays["s%d/grad%s/%s" % (t, who, k)] for k in a[key]}
            report.add("step %d %s gradients" % (t, who), "grad",
                       {k: (eng[k], a[key][k], b[key][k]) for k in eng})  # fmt: skip
        for who, key in (("G", "adam_g"), ("D", "adam_d")):
            report.add("step %d %s after Adam" % (t, who), "param",
                       {k: (arrays["s%d/%s/%s" % (t, who, k)], a[key][k], b[key][k]) for k in a[key]})  # fmt: skip
        report.add("step %d EMA of G" % t, "param",
                   {k: (arrays["s%d/EMA/%s" % (t, k)], a["ema"][k], b["ema"][k]) for k in a["ema"]})  # fmt: skip
        if a["u"]:
            # The engine's u after the step includes the G update's power iteration; the
            # mirror's is before it, so compare direction only up to that last refinement.
            pass
    s32, o32 = sampler(meta, arrays, torch.float32)
    s64, o64 = sampler(meta, arrays, torch.float64)
    pairs = {}
    for k in s32:
        pairs[k + " mean"] = (arrays["stats/%s/mean" % k], s32[k][0], s64[k][0])
        pairs[k + " var"] = (arrays["stats/%s/variance" % k], s32[k][1], s64[k][1])
    report.add("standing statistics", "stats", pairs)
    report.add("samples with standing statistics", "sample", {"images": (arrays["sample/out"], o32, o64)})
    failed = report.print()
    fr32 = free_running(meta, arrays, torch.float32)
    last = meta["steps"] - 1
    print("\nFree-running mirror (float32) after %d steps, relative to the engine: G %.2e, D %.2e, "
          "EMA %.2e; losses engine %s, mirror %s" % (
              meta["steps"],
              max(rel(arrays["s%d/G/%s" % (last, k)], v.numpy()) for k, v in fr32["g"].items()),
              max(rel(arrays["s%d/D/%s" % (last, k)], v.numpy()) for k, v in fr32["d"].items() if cg.trainable(k)),
              max(rel(arrays["s%d/EMA/%s" % (last, k)], v.numpy()) for k, v in fr32["ema"].items()),
              np.round(arrays["s%d/loss" % last], 5).tolist(), np.round(fr32["losses"][-1], 5).tolist()))  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
