/** Whether the `openssl` command line is on PATH: the interop tests that need it skip, saying so, when it is not. */
import { spawnSync } from 'node:child_process';

export const OPENSSL_AVAILABLE = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
