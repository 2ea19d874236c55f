import * as os from 'node:os';
import * as path from 'node:path';
import type { RunEndedEvent, RunEvent, StepEvent } from '../../protocol/runnerEvents';
import { initBackend, type BackendName, type BackendReport } from '../backend/backendChain';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import { loadLatestCheckpoint, saveCheckpoint } from '../checkpoint/checkpointStore';
import type { TrainConfig } from '../config/types';
import type { ImageDataset } from '../data/dataset';
import { loadDataset } from '../data/loadDataset';
import {
  computeInstances,
  loadRunInstances,
  saveInstances,
  type PreparedInstances,
} from '../instances/prepareInstances';
import { denseConditionKind, needsInstances } from '../models/modelCapabilities';
import { DiversityMonitor } from './diversityMonitor';
import { writeGallery } from './galleryWriter';
import { UserError } from '../errors';
import { tileGrid } from '../image/imageGrid';
import { encodePng } from '../image/pngEncode';
import { countParameters } from '../models/paramStore';
import { Rng } from '../random/rng';
import { EventLog } from '../run/eventLog';
import { loadRunConfig } from '../run/runConfig';
import {
  createRunFolder,
  readRunInfo,
  RUN_FILES,
  writeRunInfo,
  type RunInfo,
} from '../run/runFolder';
import { generateImages, gridColumns, gridConditions } from '../sampling/generateImages';
import { disposeStats } from '../sampling/standingStats';
import { StepTimer } from './stepTimer';
import type { CheckpointMeta } from '../checkpoint/checkpointTensors';
import { TrainingSession, type StepStats } from './trainingSession';

export interface JobOptions {
  /** Total steps the run should have at its end (overrides training.steps). */
  steps?: number;
  backend?: BackendName | 'auto';
  /** Receives every event (also written to events.jsonl). */
  onEvent?: (event: RunEvent) => void;
  /** Polled after every step; true = checkpoint and stop. */
  shouldStop?: () => boolean;
}

const now = (): string => new Date().toISOString();

/** Starts a new run of a resolved config: creates its run folder and trains. */
export async function trainNew(config: TrainConfig, opts: JobOptions = {}): Promise<RunEndedEvent> {
  return runJob(config, null, opts);
}

/** Continues a run folder from its newest valid checkpoint. */
export async function resumeRun(runDir: string, opts: JobOptions = {}): Promise<RunEndedEvent> {
  const dir = path.resolve(runDir);
  return runJob(loadRunConfig(dir), dir, opts);
}

async function runJob(
  config: TrainConfig,
  resumeDir: string | null,
  opts: JobOptions,
): Promise<RunEndedEvent> {
  const pending: RunEvent[] = [];
  const early = (message: string): void => {
    const e: RunEvent = { type: 'log', time: now(), level: 'info', message };
    pending.push(e);
    opts.onEvent?.(e);
  };
  const backend = await initBackend(opts.backend ?? config.backend);
  early(
    `backend: ${backend.name}${backend.name === 'wasm' ? ` (SIMD ${backend.simd ? 'on' : 'off'}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'})` : ''}` +
      backend.attempts
        .filter((a) => !a.ok)
        .map((a) => `; skipped ${a.name}: ${a.reason}`)
        .join(''),
  );
  const data = await loadDataset(config.data, early);
  // IC-GAN: features and neighbourhoods come before the run folder, so a failure there (k too
  // large, unreadable data) leaves no empty run behind; a resume reuses the run's own index.
  let prepared: PreparedInstances | null = null;
  if (needsInstances(config.model.type)) {
    prepared = resumeDir
      ? { index: loadRunInstances(resumeDir), extractor: null }
      : await computeInstances(config, data, early);
  }
  const session = new TrainingSession(config, data, prepared?.index ?? null);
  try {
    let previous: RunInfo | null = null;
    let runDir: string;
    if (resumeDir) {
      runDir = resumeDir;
      previous = readRunInfo(runDir);
      const ckpt = loadLatestCheckpoint<CheckpointMeta>(
        path.join(runDir, RUN_FILES.checkpoints),
        (m) => early(`warning: ${m}`),
      );
      if (ckpt) {
        session.restore(ckpt.meta, ckpt.tensors);
        early(`resuming from ${path.relative(runDir, ckpt.file)} (step ${ckpt.meta.step})`);
      } else {
        early('no valid checkpoint: starting this run again from step 0');
      }
    } else {
      runDir = createRunFolder(config);
      if (prepared) await saveInstances(runDir, prepared);
    }
    const log = new EventLog(path.join(runDir, RUN_FILES.events));
    try {
      return await trainLoop({
        config,
        runDir,
        session,
        log,
        previous,
        backend,
        opts,
        pending,
        data,
      });
    } finally {
      log.close();
    }
  } finally {
    session.dispose();
    prepared?.extractor?.dispose();
  }
}

interface LoopContext {
  config: TrainConfig;
  runDir: string;
  session: TrainingSession;
  log: EventLog;
  previous: RunInfo | null;
  backend: BackendReport;
  opts: JobOptions;
  pending: RunEvent[];
  data: ImageDataset;
}

async function trainLoop(ctx: LoopContext): Promise<RunEndedEvent> {
  const { config, runDir, session, log, opts } = ctx;
  const totalSteps = opts.steps ?? config.training.steps;
  const emit = (e: RunEvent): void => {
    log.append(e);
    opts.onEvent?.(e);
  };
  for (const e of ctx.pending) log.append(e);
  const startStep = session.step;
  const timer = new StepTimer();
  const startedAt = ctx.previous?.startedAt ?? now();
  const baseSeconds = ctx.previous?.trainingSeconds ?? 0;
  let lastCheckpoint = ctx.previous?.lastCheckpoint;
  let lastCheckpointStep = startStep;
  const info = (status: RunInfo['status'], extra: Partial<RunInfo> = {}): RunInfo => ({
    version: 1,
    name: path.basename(runDir),
    status,
    configPath: config.configPath,
    model: config.model.type,
    backend: ctx.backend.name,
    step: session.step,
    totalSteps,
    startedAt,
    updatedAt: now(),
    trainingSeconds: baseSeconds + timer.totalSeconds(),
    msPerStep: timer.medianMs(),
    lastCheckpoint,
    pid: process.pid,
    hostname: os.hostname(),
    ...extra,
  });
  writeRunInfo(runDir, info('running'));
  emit({
    type: 'run-started',
    time: now(),
    runDir,
    runName: path.basename(runDir),
    configPath: config.configPath,
    model: config.model.type,
    dataset: ctx.data.description,
    backend: ctx.backend,
    startStep,
    totalSteps,
    resumed: ctx.previous !== null,
    parameters: {
      generator: countParameters(session.model.generatorParams),
      discriminator: countParameters(session.model.discriminatorParams),
    },
    // Only a model with a class input can be asked for a class (a tags model's data may have classes).
    classNames: session.model.numClasses > 0 ? [...(ctx.data.classNames ?? [])] : [],
    instanceConditioned: session.model.featureDim > 0,
    tagNames:
      denseConditionKind(config.model) === 'tags' ? [...(ctx.data.conditions?.tagNames ?? [])] : [],
  });

  // Best spreads start afresh on resume: a collapse is judged within one process's watch.
  const monitor = DiversityMonitor.create(session.model, ctx.data, session.instances, config.seed);
  const classNames = ctx.data.classNames ?? null;
  const checkpoint = async (): Promise<void> => {
    const stats = session.standingStats();
    try {
      const { meta, tensors } = await session.snapshot(
        stats,
        classNames,
        session.conditionExamples(),
      );
      const { file, bytes } = await saveCheckpoint(
        path.join(runDir, RUN_FILES.checkpoints),
        session.step,
        meta,
        tensors,
        config.checkpoints.keep,
      );
      lastCheckpoint = path.relative(runDir, file);
      lastCheckpointStep = session.step;
      emit({ type: 'checkpoint', time: now(), step: session.step, file: lastCheckpoint, bytes });
      writeRunInfo(runDir, info('running'));
    } catch (err) {
      throw new UserError(
        `cannot write a checkpoint in ${path.join(runDir, RUN_FILES.checkpoints)}: ${describeIoError(err)}` +
          (lastCheckpoint ? `; the last good checkpoint is ${lastCheckpoint}` : ''),
      );
    } finally {
      disposeStats(stats);
    }
  };

  const end = (status: RunEndedEvent['status'], message?: string): RunEndedEvent => {
    const e: RunEndedEvent = {
      type: 'run-ended',
      time: now(),
      status,
      step: session.step,
      message,
      lastCheckpoint,
    };
    // On a full or vanished disk these writes fail too; the caller still gets the event and the
    // error, and the checkpoints already written stay valid.
    try {
      emit(e);
    } catch {
      opts.onEvent?.(e);
    }
    try {
      writeRunInfo(runDir, info(status, { endedAt: now(), message }));
    } catch {
      // run.json keeps its previous content.
    }
    return e;
  };
  const lastGood = (): string =>
    lastCheckpoint
      ? `; the last good checkpoint is ${lastCheckpoint} (step ${lastCheckpointStep})`
      : '; no checkpoint was written yet';

  try {
    while (session.step < totalSteps) {
      // A step's work is mostly synchronous: without this turn of the event loop, signals (Ctrl-C) and the
      // runner's IPC 'stop' would wait for the next sample or checkpoint write to be seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.shouldStop?.()) {
        if (lastCheckpointStep !== session.step) await checkpoint();
        return end('stopped', `stopped at step ${session.step}`);
      }
      timer.start();
      const stats = await session.trainStep();
      timer.stop();
      const bad = divergence(stats, config.training.divergenceLoss);
      if (bad)
        return end('failed', `training diverged at step ${session.step}: ${bad}${lastGood()}`);
      const step = session.step;
      if (step % config.training.logEvery === 0 || step === totalSteps || step === startStep + 1) {
        emit(stepEvent(step, totalSteps, stats, config.training.batchSize, timer));
      }
      if (step % config.samples.every === 0 || step === totalSteps)
        await writeSampleGrid(ctx, emit, monitor);
      if (
        session.instances &&
        (step % config.instances.galleryEvery === 0 || step === totalSteps)
      ) {
        emit(
          await writeGallery(
            session,
            ctx.data,
            runDir,
            config.instances.gallerySamples,
            config.seed,
          ),
        );
      }
      if (step % config.checkpoints.every === 0 || step === totalSteps) await checkpoint();
    }
    return end('finished');
  } catch (err) {
    const disk = diskError(err, runDir);
    if (disk) {
      const message = `${disk}${lastGood()}`;
      end('failed', message);
      throw new UserError(message);
    }
    end('failed', err instanceof Error ? err.message : String(err));
    throw err;
  }
}

/** A write that failed for lack of space or permission, as a one-line message naming the path. */
function diskError(err: unknown, runDir: string): string | null {
  if (err instanceof UserError) return null;
  const e = err as NodeJS.ErrnoException;
  if (!['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'EIO'].includes(e.code ?? '')) {
    return null;
  }
  return `cannot write in ${e.path ?? runDir}: ${describeIoError(err)}`;
}

function stepEvent(
  step: number,
  totalSteps: number,
  s: StepStats,
  batchSize: number,
  timer: StepTimer,
): StepEvent {
  const secondsPerStep = timer.recentSeconds();
  return {
    type: 'step',
    time: now(),
    step,
    totalSteps,
    ...s,
    imagesPerSec: secondsPerStep > 0 ? batchSize / secondsPerStep : 0,
    etaSeconds: Math.max(0, (totalSteps - step) * secondsPerStep),
  };
}

/** NaN or infinite statistics, or a loss beyond `limit` (an explosion NaN would soon follow). */
function divergence(s: StepStats, limit: number): string | null {
  const bad = (['dLoss', 'gLoss', 'dReal', 'dFake'] as const).filter((k) => !Number.isFinite(s[k]));
  if (bad.length) return bad.map((k) => `${k} is ${s[k]}`).join(', ');
  const exploded = (['dLoss', 'gLoss'] as const).filter((k) => Math.abs(s[k]) > limit);
  return exploded.length
    ? exploded
        .map((k) => `${k} is ${s[k].toPrecision(4)}, beyond training.divergenceLoss (${limit})`)
        .join(', ')
    : null;
}

function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'no space left on device';
  if (code === 'ENOENT') return 'the folder was removed';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `not writable (${code})`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The fixed-noise grid: same z and the same row conditions (a class, or a representative instance)
 * at every step, so progress is visible.
 */
async function writeSampleGrid(
  ctx: LoopContext,
  emit: (e: RunEvent) => void,
  monitor: DiversityMonitor,
): Promise<void> {
  const { session, config, runDir } = ctx;
  const { model } = session;
  const count = config.samples.count;
  const columns = gridColumns(count);
  const z = new Rng((config.seed + 0x9e37) >>> 0).normals(
    count * model.zDim,
    config.samples.truncation,
  );
  const stats = session.standingStats();
  try {
    const images = await generateImages(
      model,
      session.ema,
      stats,
      z,
      gridConditions(model, count, columns, session.instances, session.conditionExamples()),
    );
    const { resolution: r, channels: c } = model.image;
    const grid = tileGrid(images.pixels, count, r, r, c, columns);
    const png = await encodePng(grid.pixels, grid.height, grid.width, c);
    const rel = path.join(RUN_FILES.samples, `step-${String(session.step).padStart(8, '0')}.png`);
    await writeFileAtomic(path.join(runDir, rel), png);
    await writeFileAtomic(path.join(runDir, RUN_FILES.latestSample), png);
    emit({ type: 'samples', time: now(), step: session.step, file: rel, count, columns });
    if (monitor.watches) {
      const reading = await monitor.read(session.step, session.ema, stats);
      for (const message of monitor.assess(reading))
        emit({ type: 'log', time: now(), level: 'warn', message });
      emit({
        type: 'diversity',
        time: now(),
        step: reading.step,
        median: reading.median,
        groups: reading.groups.map((g) => ({ name: g.name, ratio: g.ratio })),
        collapsed: monitor.collapsedGroups,
      });
    }
  } finally {
    disposeStats(stats);
  }
}
