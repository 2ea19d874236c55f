import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** Where test/support/fetchLavapipe.sh unpacks Mesa's lavapipe and the Vulkan loader. */
export const LAVAPIPE_DIR = process.env.ICGAN_LAVAPIPE_DIR ?? path.join(ROOT, '.cache/lavapipe');

/**
 * The environment a child process needs to see lavapipe (LD_LIBRARY_PATH is read at process
 * start, so it cannot be set in-process), or why the software GPU is not available.
 */
export function softwareGpuEnv(): { env: NodeJS.ProcessEnv } | { skip: string } {
  let webgpuMissing = false;
  try {
    require.resolve('webgpu', { paths: [ROOT] });
  } catch {
    webgpuMissing = true;
  }
  if (webgpuMissing) return { skip: 'the optional package webgpu (dawn.node) is not installed' };
  const icd = path.join(LAVAPIPE_DIR, 'lvp_icd.json');
  if (!fs.existsSync(icd)) {
    return { skip: `no software GPU: run test/support/fetchLavapipe.sh (looked for ${icd})` };
  }
  const lib = path.join(LAVAPIPE_DIR, 'lib');
  return {
    env: {
      ...process.env,
      VK_ICD_FILENAMES: icd,
      LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    },
  };
}
