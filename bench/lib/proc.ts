/**
 * Per-process figures from Linux procfs (proc(5)): resident memory (/proc/PID/status VmRSS, and
 * VmHWM, the kernel's own peak of it) and CPU time (/proc/PID/stat fields 14 utime and 15 stime,
 * in clock ticks). CPU time per operation in each process says which one bounds a load run.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { LoadRun } from './load.js';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** VmRSS and VmHWM of `pid`, MiB. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** User + system CPU time `pid` has used, ms. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
}

/**
 * Time the threads of `pid` have spent runnable but waiting for a CPU, ms: the second field of
 * /proc/PID/task/TID/schedstat, in ns (proc(5); kernel Documentation/scheduler/sched-stats.rst).
 * Over a load run it says how long the processes queued for the machine's cores, which on a host
 * that runs the generator, the parent and the enclave together is a part of every latency.
 * Threads that exit between two readings take their share with them. NaN where the kernel keeps no
 * such figures.
 */
export function runQueueWaitMs(pid: number): number {
  try {
    let ns = 0;
    let read = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
        read += 1;
      } catch {
        // The thread has exited since the directory was listed, or the kernel keeps no schedstat.
      }
    }
    return read === 0 ? NaN : ns / 1e6;
  } catch {
    return NaN;
  }
}

/** CPU ms used since the returned function's creation, per named process (this one included). */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)]));
  const self = process.cpuUsage();
  return () => {
    const used: Record<string, number> = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid) - (start[name] as number)]));
    const delta = process.cpuUsage(self);
    used.bench = (delta.user + delta.system) / 1000;
    return used;
  };
}

/** Samples VmRSS of `pid` every `everyMs` until stopped; returns the samples' peak and last. */
export function sampleMemory(pid: number, everyMs = 100): () => { peakRssMiB: number; lastRssMiB: number; samples: number } {
  let peak = 0;
  let last = 0;
  let samples = 0;
  const take = (): void => {
    try {
      last = memoryOf(pid).rssMiB;
      peak = Math.max(peak, last);
      samples += 1;
    } catch {
      // The process has exited; keep what was seen.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
    return { peakRssMiB: peak, lastRssMiB: last, samples };
  };
}

/** Counts CPU per operation of each process over the runs of one case. */
export class CpuTally {
  readonly #ms: Record<string, number> = {};
  #ops = 0;

  /** With `stack`, the parent's and the enclave's CPU too; this process's always. */
  async measure(stack: { parentPid(): number; enclavePid(): number } | undefined, run: () => Promise<LoadRun>): Promise<LoadRun> {
    const meter = cpuMeter(stack === undefined ? {} : { parent: stack.parentPid(), enclave: stack.enclavePid() });
    const result = await run();
    for (const [name, ms] of Object.entries(meter())) this.#ms[name] = (this.#ms[name] ?? 0) + ms;
    this.#ops += result.ops;
    return result;
  }

  /** µs of CPU per operation, by process. */
  perOpUs(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.#ms).map(([name, ms]) => [name, Math.round((ms * 1000) / Math.max(1, this.#ops))]));
  }
}
