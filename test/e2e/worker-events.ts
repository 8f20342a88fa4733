/**
 * The enclave's worker-pool events in its console output (enclave/workers/pool.ts, enclave/runtime.ts):
 * the pool's size when it started, and every worker that exited, erred or could not start.
 */
export function workerPoolEvents(output: string): { startedSize: number | undefined; failures: { event?: string }[] } {
  const events = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event?: string; size?: number });
  return {
    startedSize: events.find((e) => e.event === 'worker-pool-started')?.size,
    failures: events.filter((e) => e.event === 'worker-exit' || e.event === 'worker-error' || e.event === 'worker-spawn-failed' || e.event === 'worker-pool-failed'),
  };
}
