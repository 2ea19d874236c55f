import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';

/**
 * The @vscode/test-electron suite: a real VS Code desktop (Electron) with the extension loaded
 * from this folder. It needs a VS Code: VSCODE_EXECUTABLE_PATH, or a download from Microsoft's
 * update server (which fails without internet — then this exits non-zero and says so; the
 * code-server end-to-end test in test/e2e covers the same product offline).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, '.test-tmp', 'integration');

async function main(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  // The extension host loads plain JS: bundle the mocha suite (vscode stays external).
  await esbuild.build({
    entryPoints: { suite: path.join(__dirname, 'suite.ts') },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outdir: OUT,
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  const workspace = path.join(OUT, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  fs.copyFileSync(
    path.join(__dirname, 'fixtures', 'tiny.icgan.json'),
    path.join(workspace, 'tiny.icgan.json'),
  );
  const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH;
  try {
    await runTests({
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(OUT, 'suite.js'),
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        `--user-data-dir=${path.join(OUT, 'user-data')}`,
      ],
      extensionTestsEnv: { ICGAN_INTEGRATION_WORKSPACE: workspace },
      ...(vscodeExecutablePath ? { vscodeExecutablePath } : {}),
    });
  } catch (err) {
    process.stderr.write(
      `integration: failed (${(err as Error).message}). Without internet, set VSCODE_EXECUTABLE_PATH to a local VS Code.\n`,
    );
    process.exit(1);
  }
}

void main();
