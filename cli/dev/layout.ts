/**
 * Where `enclavekit dev` keeps what outlives a run (default `.enclavekit/` in the working
 * directory). The runtime files (sockets, generated configs in run/, the simulator state in sim/,
 * parent.log) are the local stack's (stack.ts).
 */
import path from 'node:path';

export interface DevLayout {
  root: string;
  wrappedKeys: string;
  apiToken: string;
  devJson: string;
}

export function devLayout(root: string): DevLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    wrappedKeys: path.join(abs, 'wrapped-keys.json'),
    apiToken: path.join(abs, 'api-token'),
    devJson: path.join(abs, 'dev.json'),
  };
}
