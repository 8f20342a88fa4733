/**
 * Children of a supervisor (`enclavekit dev`) end when the supervisor ends, however it ends. Linux
 * can signal a child when its parent dies (prctl PR_SET_PDEATHSIG), but Node does not expose it;
 * what every process does get is end-of-file on a pipe whose only writer was the dead process (the
 * kernel closes its descriptors, SIGKILL included). So the supervisor gives each child a stdin
 * pipe it never writes, and sets ENCLAVEKIT_SUPERVISED=stdin; the child treats the end of stdin as
 * "stop now". Unsupervised processes (systemd, nitro-cli) never see the variable.
 */

export const SUPERVISED_ENV = 'ENCLAVEKIT_SUPERVISED';

/** A stopped-but-stuck child still goes: the orderly stop has this long, ms. */
const HARD_EXIT_AFTER_MS = 10_000;

/**
 * When supervised, calls `onGone` once stdin closes, and exits with code 1 if the process is still
 * alive `HARD_EXIT_AFTER_MS` later. Does nothing otherwise. Never keeps the process alive itself.
 */
export function exitWithSupervisor(onGone: () => void, env: NodeJS.ProcessEnv = process.env): void {
  if (env[SUPERVISED_ENV] !== 'stdin') return;
  const stdin = process.stdin;
  let fired = false;
  const gone = (): void => {
    if (fired) return;
    fired = true;
    process.stderr.write('supervisor is gone (stdin closed); stopping\n');
    setTimeout(() => process.exit(1), HARD_EXIT_AFTER_MS).unref();
    onGone();
  };
  stdin.on('end', gone);
  stdin.on('close', gone);
  stdin.on('error', gone);
  // Reading is what makes end-of-file visible; what the supervisor writes (nothing) is discarded.
  stdin.on('data', () => undefined);
  stdin.resume();
  (stdin as { unref?: () => void }).unref?.();
}
