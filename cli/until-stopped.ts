/**
 * For commands that serve until told to stop: resolves on SIGINT, SIGTERM, or when the supervisor
 * that started this process dies (shared/lifecycle/supervised.ts).
 */
import { exitWithSupervisor } from '../shared/lifecycle/supervised.js';

export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    exitWithSupervisor(stop);
  });
}
