/**
 * `npm run package [-- --target <id>]`: one .vsix per platform (all of TARGETS by default), each
 * with that platform's native binaries and nothing of the others, checked after packing.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { checkVsix } from './checkVsix';
import { stage } from './stage';
import { findTarget, TARGETS, vsixName, type Target } from './targets';

const root = path.resolve(__dirname, '..', '..');

function selectedTargets(argv: readonly string[]): readonly Target[] {
  const ids: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--target') ids.push(...(argv[++i] ?? '').split(','));
    else if (arg.startsWith('--target=')) ids.push(...arg.slice('--target='.length).split(','));
    else throw new Error(`unknown argument '${arg}' (usage: npm run package -- [--target <id>])`);
  }
  return ids.length ? ids.map(findTarget) : TARGETS;
}

function main(): void {
  const targets = selectedTargets(process.argv.slice(2));
  const log = (line: string): void => console.log(`package: ${line}`);
  execFileSync(process.execPath, ['esbuild.js', '--production'], { cwd: root, stdio: 'inherit' });
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  let failed = false;
  for (const target of targets) {
    const dir = path.join(root, '.cache', 'package', target.id);
    stage(root, target, dir, log);
    const out = path.join(root, vsixName(target));
    execFileSync(
      process.execPath,
      [
        vsce,
        'package',
        '--target',
        target.id,
        '--no-rewrite-relative-links',
        '--allow-missing-repository',
        '--out',
        out,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const report = checkVsix(out, target);
    const mb = (report.bytes / 1e6).toFixed(1);
    for (const problem of report.problems) {
      failed = true;
      console.error(`package: ${vsixName(target)}: ${problem}`);
    }
    const verdict = report.problems.length ? 'FAILED the check' : `all built for ${target.id}`;
    log(`${vsixName(target)}: ${mb} MB, ${report.natives.length} native files, ${verdict}`);
  }
  if (failed) process.exit(1);
}

main();
