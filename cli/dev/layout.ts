/** Where the dev stack keeps its files (default `.enclavekit/` in the working directory). */
import path from 'node:path';

export interface DevLayout {
  root: string;
  simState: string;
  run: string;
  enclaveSocket: string;
  proxySocket: string;
  nsmSocket: string;
  enclaveConfig: string;
  parentConfig: string;
  wrappedKeys: string;
  apiToken: string;
  logFile: string;
  devJson: string;
}

export function devLayout(root: string): DevLayout {
  const abs = path.resolve(root);
  const run = path.join(abs, 'run');
  return {
    root: abs,
    simState: path.join(abs, 'sim'),
    run,
    enclaveSocket: path.join(run, 'enclave.sock'),
    proxySocket: path.join(run, 'proxy.sock'),
    nsmSocket: path.join(run, 'nsm.sock'),
    enclaveConfig: path.join(run, 'enclave.json'),
    parentConfig: path.join(run, 'parent.json'),
    wrappedKeys: path.join(abs, 'wrapped-keys.json'),
    apiToken: path.join(abs, 'api-token'),
    logFile: path.join(abs, 'parent.log'),
    devJson: path.join(abs, 'dev.json'),
  };
}
