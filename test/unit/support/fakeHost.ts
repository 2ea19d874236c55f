// Plays the extension host for the lifecycle test: starts a training through RunnerProcess,
// reports the runner's pid and run folder on its first step, then waits to be killed.
import { RunnerProcess } from '../../../src/extension/runnerProcess';

const [runnerPath, configPath] = process.argv.slice(2);
let told = false;
const runner = new RunnerProcess(
  { type: 'train', configPath: configPath ?? '', backend: 'wasm' },
  {
    runnerPath: runnerPath ?? '',
    nodePath: process.execPath,
    onEvent: (e) => {
      if (e.type === 'run-started') process.stdout.write(`run ${e.runDir}\n`);
      if (e.type === 'step' && !told) {
        told = true;
        process.stdout.write(`pid ${runner.pid}\n`);
      }
    },
  },
);
void runner.exited.then(() => process.exit(0));
