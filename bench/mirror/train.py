"""Trains the PyTorch mirror of an engine config on its own, for side-by-side quality figures.

    python3 -s bench/mirror/train.py JOB.json

JOB.json is written by bench/mirrorRun.ts: the resolved model and training settings, a seed,
the training images (exported by the engine, so both sides see the same data) and when to stop
and sample. The mirror uses its own random stream (torch's), the engine's initial distributions,
training step, EMA and sampler (standing batch statistics of the EMA generator), so with a
faithful engine both reach the same quality up to seed noise. Samples go to
OUT/<label>/samples.{json,f32}, the format bench/referee.ts reads.
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import convgan as cg  # noqa: E402

STANDING_BATCHES = 4
STANDING_BATCH = 64
CHUNK = 256


def load_job(path):
    with open(path) as f:
        job = json.load(f)
    d = job["data"]
    images = np.fromfile(d["images"], dtype="<f4").reshape(d["n"], d["side"], d["side"], d["channels"])
    labels = np.fromfile(d["labels"], dtype="<f4").astype(np.int64) if d.get("labels") else None
    return job, torch.from_numpy(images), (torch.from_numpy(labels) if labels is not None else None)


def spec_of(job):
    m = job["model"]
    r = job["resolved"]
    return cg.Spec(m["type"], m["zDim"], m["gWidth"], m["dWidth"], m["embedDim"], job["data"]["side"],
                   job["data"]["channels"], job["numClasses"], r["dNorm"], r["minibatchStd"],
                   m.get("groupSize", 0), m.get("pack", 1), m.get("auxClassifier", 0))  # fmt: skip


class Trainer:
    def __init__(self, job, images, labels):
        self.job, self.images, self.labels = job, images, labels
        self.spec = spec_of(job)
        self.t = job["training"]
        self.gen = torch.Generator().manual_seed(job["seed"])
        self.g, self.d = cg.init_params(self.spec, self.gen)
        self.ema = {k: v.clone() for k, v in self.g.items()}
        self.d_train = {k: v for k, v in self.d.items() if cg.trainable(k)}
        self.opt_g = cg.Adam(self.g, self.t["gLr"], self.t["beta1"], self.t["beta2"])
        self.opt_d = cg.Adam(self.d_train, self.t["dLr"], self.t["beta1"], self.t["beta2"])
        self.step = 0
        self.ema_updates = 0
        if labels is not None:
            self.members = {int(c): torch.nonzero(labels == c).flatten() for c in torch.unique(labels)}

    def noise(self, n):
        return torch.randn(n, self.spec.z_dim, generator=self.gen)

    def draw(self, n):
        g = self.spec.group_size
        if self.labels is not None and self.spec.minibatch_std and g > 1 and n % g == 0:
            # Groups sharing a class (data/classGroups.ts): the class of a uniform image, then
            # images of that class.
            anchors = torch.randint(0, self.images.shape[0], (n // g,), generator=self.gen)
            groups = [self.members[int(self.labels[a])] for a in anchors]
            idx = torch.cat([m[torch.randint(0, len(m), (g,), generator=self.gen)] for m in groups])
        else:
            idx = torch.randint(0, self.images.shape[0], (n,), generator=self.gen)
        return self.images[idx], (self.labels[idx] if self.labels is not None else None)

    def lr_scale(self):
        # training.lrDecay: the last fraction of the run over which both step sizes fall linearly to 0.
        d, total = self.t.get("lrDecay", 0), self.t["steps"]
        start = total * (1 - d)
        return 1.0 if d <= 0 or self.step < start else max(0.0, (total - self.step) / (total - start))

    def train_step(self):
        spec, loss = self.spec, self.t["loss"]
        scale = self.lr_scale()
        self.opt_g.lr, self.opt_d.lr = self.t["gLr"] * scale, self.t["dLr"] * scale
        for _ in range(self.t["dStepsPerG"]):
            real, labels = self.draw(self.t["batchSize"])
            aug = self.t.get("augment")
            with torch.no_grad():
                fake = cg.diff_augment(cg.generate(spec, self.g, self.noise(real.shape[0]), labels, cg.BATCH), aug, self.gen)
            real = cg.diff_augment(real, aug, self.gen)
            dp = {k: (v.requires_grad_(True) if cg.trainable(k) else v) for k, v in self.d.items()}
            real_logit, fake_logit, real_classes = cg.judge(spec, dp, real, fake, labels)
            d_loss = cg.d_loss(loss, real_logit, fake_logit)
            d_loss = cg.with_class_loss(spec, d_loss, real_classes, labels)
            grads = torch.autograd.grad(d_loss, list(self.d_train.values()))
            for v in self.d_train.values():
                v.requires_grad_(False)
            self.opt_d.apply(dict(zip(self.d_train.keys(), grads)))
        for v in self.g.values():
            v.requires_grad_(True)
        fake = cg.diff_augment(cg.generate(spec, self.g, self.noise(real.shape[0]), labels, cg.BATCH), self.t.get("augment"), self.gen)
        fake_logit, fake_classes = cg.discriminate(spec, self.d, fake, labels, True)
        g_loss = cg.g_loss(loss, fake_logit)
        g_loss = cg.with_class_loss(spec, g_loss, fake_classes, labels)
        grads = torch.autograd.grad(g_loss, list(self.g.values()))
        for v in self.g.values():
            v.requires_grad_(False)
        self.opt_g.apply(dict(zip(self.g.keys(), grads)))
        cg.update_ema(self.ema, self.g, cg.ema_decay_at(self.t["emaDecay"], self.ema_updates))
        self.ema_updates += 1
        self.step += 1
        return d_loss.item(), g_loss.item()

    @torch.no_grad()
    def sample(self, n, source):
        spec = self.spec
        params = self.ema if source == "ema" else self.g
        mode = cg.BnMode("collect")
        for _ in range(STANDING_BATCHES):
            labels = (torch.randint(0, spec.num_classes, (STANDING_BATCH,), generator=self.gen)
                      if spec.by_class else None)  # fmt: skip
            cg.generate(spec, params, self.noise(STANDING_BATCH), labels, mode)
        stats = {
            k: (torch.stack([m for m, _ in v]).mean(0), torch.stack([s for _, s in v]).mean(0))
            for k, v in mode.out.items()
        }
        fixed = cg.BnMode("fixed", stats)
        requested = torch.arange(n) % spec.num_classes if spec.by_class else None
        out = []
        for start in range(0, n, CHUNK):
            lab = requested[start : start + CHUNK] if requested is not None else None
            out.append(cg.generate(spec, params, self.noise(min(CHUNK, n - start)), lab, fixed))
        return torch.cat(out), requested


def write_samples(dir_, name, step, images, labels):
    os.makedirs(dir_, exist_ok=True)
    images.numpy().astype("<f4").tofile(os.path.join(dir_, "samples.f32"))
    with open(os.path.join(dir_, "samples.json"), "w") as f:
        json.dump(dict(n=images.shape[0], side=images.shape[1], channels=images.shape[3], step=step,
                       name=name, labels=labels.tolist() if labels is not None else None), f)  # fmt: skip


def main():
    job, images, labels = load_job(sys.argv[1])
    torch.set_num_threads(job.get("threads", 2))
    trainer = Trainer(job, images, labels)
    s = job["samples"]
    at_steps = sorted(s.get("atSteps", []))
    at_seconds = sorted(s.get("atSeconds", []))
    max_steps = max(at_steps) if at_steps else None
    # Only training counts towards a time budget, not sampling.
    seconds = 0.0
    log = []
    while True:
        while at_seconds and seconds >= at_seconds[0]:
            label = "%ds" % at_seconds.pop(0)
            x, y = trainer.sample(s["count"], s.get("source", "ema"))
            write_samples(os.path.join(s["out"], label), "mirror %s" % label, trainer.step, x, y)
        if not at_seconds and (max_steps is None or trainer.step >= max_steps):
            break
        t0 = time.perf_counter()
        d_loss, g_loss = trainer.train_step()
        seconds += time.perf_counter() - t0
        if trainer.step % 100 == 0:
            log.append(dict(step=trainer.step, seconds=seconds, d=d_loss, g=g_loss))
            print(json.dumps(log[-1]), file=sys.stderr, flush=True)
        if at_steps and trainer.step == at_steps[0]:
            at_steps.pop(0)
            x, y = trainer.sample(s["count"], s.get("source", "ema"))
            write_samples(os.path.join(s["out"], "step-%d" % trainer.step), "mirror @%d" % trainer.step,
                          trainer.step, x, y)  # fmt: skip
    with open(os.path.join(s["out"], "mirror-log.json"), "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main()
