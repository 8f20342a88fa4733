/**
 * Whether the dev enclave can run in an empty network namespace (`unshare --net`): root on Linux
 * with a working unshare. Then, as in a real enclave, its only ways out are its Unix sockets to the
 * parent and the NSM simulator.
 */
import { execFileSync } from 'node:child_process';

export function canIsolate(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
