/**
 * How well instance features f group images of a class: an IC-GAN learns to draw the neighbourhood
 * A_i of h_i = f(x_i), so when an image's k nearest training images (cosine, in f) are of another
 * class, its samples follow them. The share of neighbours of the query's class bounds the class
 * fidelity of transfer (bench/referee.ts --transfer) before the GAN is trained at all.
 *
 *   npx tsx bench/featureQuality.ts --config FILE.icgan.json [--variants variants.json]
 *                                   [--queries 2000] [--k 5]
 *
 * The config gives the labelled data (shapes, or IDX with its t10k sibling as the queries) and
 * its instances.k; variants.json maps a name to `instances.features` settings (without it: the
 * config's own features, raw pixels and PCA-64 pixels). Per variant: fit time, the share of the
 * k nearest training images of the query's class, and k-NN majority-vote accuracy.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/core/backend/backendChain';
import { loadConfigFile } from '../src/core/config/loadConfig';
import { loadDataset } from '../src/core/data/loadDataset';
import { fitFeatureExtractor } from '../src/core/features/featureExtractor';
import {
  resolveFeatureSettings,
  type FeatureSettingsInput,
} from '../src/core/features/featureSettings';
import { exactCosineKnn, knnForQueries } from '../src/core/neighbours/cosineKnn';
import { flag, loadAvg, log } from './harness';
import { heldOutSet } from './refereeRuns';

async function main(): Promise<void> {
  const configPath = path.resolve(flag('config', 'examples/shapes-icgan.icgan.json'));
  const config = loadConfigFile(configPath);
  const queries = Number(flag('queries', '2000'));
  const k = Number(flag('k', String(config.instances.k)));
  const variantsFile = flag('variants', '');
  const variants: Record<string, FeatureSettingsInput> = variantsFile
    ? (JSON.parse(fs.readFileSync(variantsFile, 'utf8')) as Record<string, FeatureSettingsInput>)
    : {
        config: config.instances.features,
        pixels: { kind: 'pixels', pcaDim: 0 },
        'pixels, PCA 64': { kind: 'pixels', pcaDim: 64 },
      };
  await initBackend(config.backend === 'auto' ? 'wasm' : config.backend);
  const train = await loadDataset(config.data, () => undefined);
  const held = await heldOutSet(config.data, queries);
  if (!train.labels || !held.labels) throw new Error(`${configPath}: the data has no class labels`);
  const size = held.height * held.width * held.channels;
  log(
    `CPU: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; ${configPath}: ` +
      `${train.count} training images, ${held.count} held-out queries, k = ${k}`,
  );

  const lines = [
    `| features | fit (s) | neighbours of the query's class | ${k}-NN vote accuracy | training instances' neighbours of their class |`,
    '|---|---|---|---|---|',
  ];
  for (const [name, input] of Object.entries(variants)) {
    const settings = resolveFeatureSettings(input);
    const t0 = Date.now();
    const extractor = await fitFeatureExtractor(train, settings, log);
    const fitSeconds = (Date.now() - t0) / 1000;
    try {
      const database = await extractor.embed(train.images, train.count);
      const q = await extractor.embed(held.images.subarray(0, held.count * size), held.count);
      const nn = await knnForQueries(database, train.count, extractor.dim, q, held.count, k);
      const own = await exactCosineKnn(database, train.count, extractor.dim, k);
      const agreement = (indices: Int32Array, labelOf: (i: number) => number | undefined) => {
        let same = 0;
        for (let i = 0; i < indices.length; i++) {
          if (train.labels?.[indices[i]!] === labelOf(Math.floor(i / k))) same++;
        }
        return same / indices.length;
      };
      let voted = 0;
      for (let i = 0; i < held.count; i++) {
        const votes = new Map<number, number>();
        for (const j of nn.indices.subarray(i * k, (i + 1) * k)) {
          const label = train.labels[j]!;
          votes.set(label, (votes.get(label) ?? 0) + 1);
        }
        const top = [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
        if (top === held.labels[i]) voted++;
      }
      const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
      lines.push(
        `| ${name} | ${fitSeconds.toFixed(0)} | ${pct(agreement(nn.indices, (i) => held.labels?.[i]))} | ` +
          `${pct(voted / held.count)} | ${pct(agreement(own.indices, (i) => train.labels?.[i]))} |`,
      );
      log(lines[lines.length - 1]!);
    } finally {
      extractor.dispose();
    }
  }
  console.log(`load ${loadAvg()}`);
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
