/**
 * bcrypt on worker threads. bcrypt is slow on purpose (tens of milliseconds
 * per hash), and bcryptjs's "async" API still runs on the main thread in
 * slices of up to 100 ms: a burst of logins would stall every other request,
 * health checks included. Here each hash or compare runs whole on a worker,
 * and the main thread only passes messages.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** The worker: plain JavaScript, so it needs no TypeScript loader. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, op, args }) => {
  try {
    const result = op === 'hash' ? bcrypt.hashSync(args[0], args[1]) : bcrypt.compareSync(args[0], args[1]);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
});
`;

type Task = { resolve: (value: string | boolean) => void; reject: (error: Error) => void };

interface Slot {
  worker: Worker;
  pending: Map<number, Task>;
}

export class BcryptPool {
  readonly #slots: Array<Slot | undefined> = [];
  readonly #size: number;
  readonly #bcryptjs = createRequire(import.meta.url).resolve('bcryptjs');
  #next = 0;
  #ids = 0;
  #closed = false;

  /** `size` workers; default one per core but one, so the main thread keeps a core. */
  constructor(size = Math.max(1, availableParallelism() - 1)) {
    this.#size = size;
  }

  hash(password: string, cost: number): Promise<string> {
    return this.#run('hash', [password, cost]) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.#run('compare', [password, hash]) as Promise<boolean>;
  }

  /** Stops the workers; pending calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#slots.splice(0).flatMap((slot) => (slot ? [slot.worker] : []));
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #run(op: 'hash' | 'compare', args: [string, string | number]): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new Error('bcrypt pool is closed'));
    const slot = this.#slot();
    const id = ++this.#ids;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref(); // keep the process alive while work is pending
      slot.worker.postMessage({ id, op, args });
    });
  }

  /** Round robin; workers start on first use and are replaced if one dies. */
  #slot(): Slot {
    const index = this.#next++ % this.#size;
    const existing = this.#slots[index];
    if (existing) return existing;
    const slot: Slot = {
      worker: new Worker(WORKER, { eval: true, workerData: { bcryptjs: this.#bcryptjs } }),
      pending: new Map(),
    };
    slot.worker.unref();
    slot.worker.on('message', ({ id, result, error }: { id: number; result?: string | boolean; error?: string }) => {
      const task = slot.pending.get(id);
      slot.pending.delete(id);
      if (slot.pending.size === 0) slot.worker.unref(); // idle workers do not hold the process open
      if (error === undefined) task?.resolve(result!);
      else task?.reject(new Error(error));
    });
    const fail = (error: Error): void => {
      for (const task of slot.pending.values()) task.reject(error);
      slot.pending.clear();
      if (this.#slots[index] === slot) this.#slots[index] = undefined;
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', () => {
      fail(new Error('bcrypt worker exited'));
    });
    this.#slots[index] = slot;
    return slot;
  }
}
