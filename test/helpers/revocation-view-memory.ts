/**
 * Run as a child process with --expose-gc by test/revocation-guard.test.ts:
 * the heap a RevocationGuard's view takes for COUNT revoked sessions (ids as
 * the core makes them), printed as one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { RevocationView as RevocationGuard } from '../../lib/revocation/view.js';
import type { Revocation } from '../../lib/index.js';

const count = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
/** The guard's clock, standing still: every entry stays in the view. */
const now = 1_767_225_600;
let deliver: (revocation: Revocation) => void = () => {};
const feed = {
  follow: async (listener: (revocation: Revocation) => void) => {
    deliver = listener;
  },
  lastContact: () => Date.now(),
  close: async () => {},
};

gc();
const before = process.memoryUsage().heapUsed;
const guard = new RevocationGuard(feed, { retention: 900, maxLag: 5000, now: () => now });
await guard.ready();
for (let i = 0; i < count; i += 1) deliver({ kind: 'session', id: randomBytes(12).toString('base64url'), at: now });
gc();
const after = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ entries: guard.size, bytes: after - before }));
await guard.close();
