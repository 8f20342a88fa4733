/**
 * The enclave's worker-pool events in its console output (enclave/workers/pool.ts, enclave/runtime.ts):
 * the pool's size when it started, how many workers became ready, and every worker that exited,
 * erred or could not start.
 */
export function workerPoolEvents(output: string): { startedSize: number | undefined; ready: number; failures: { event?: string }[] } {
  const events = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { event?: string; size?: number }];
      } catch {
        return [];
      }
    });
  return {
    startedSize: events.find((e) => e.event === 'worker-pool-started')?.size,
    ready: events.filter((e) => e.event === 'worker-ready').length,
    failures: events.filter((e) => ['worker-exit', 'worker-error', 'worker-spawn-failed', 'worker-start-timeout', 'worker-pool-failed'].includes(e.event ?? '')),
  };
}

/** Waits (bounded) until every worker of the pool has said it is ready; returns the events then. */
export async function whenWorkersReady(output: () => string): Promise<ReturnType<typeof workerPoolEvents>> {
  let events = workerPoolEvents(output());
  for (let i = 0; i < 600 && (events.startedSize === undefined || events.ready < events.startedSize) && events.failures.length === 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    events = workerPoolEvents(output());
  }
  return events;
}
