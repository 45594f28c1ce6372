import pino from 'pino';
import { WorkQueue, type Reconcile } from '../../../src/controller/work-queue.js';

const log = pino({ level: 'silent' });

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('a key added many times while queued is reconciled once', async () => {
  const seen: string[] = [];
  const queue = new WorkQueue((key) => Promise.resolve(void seen.push(key)), { name: 't' }, log);
  for (let i = 0; i < 5; i++) queue.add('a');
  queue.add('b');
  queue.start();
  await queue.idle();
  expect(seen.sort()).toEqual(['a', 'b']);
});

test('a key added while it runs runs once more afterwards, never twice at once', async () => {
  let concurrent = 0;
  let most = 0;
  let runs = 0;
  const gate = deferred();
  const reconcile: Reconcile = async () => {
    concurrent++;
    most = Math.max(most, concurrent);
    runs++;
    await (runs === 1 ? gate.promise : Promise.resolve());
    concurrent--;
  };
  const queue = new WorkQueue(reconcile, { name: 't', concurrency: 4 }, log);
  queue.start();
  queue.add('a');
  queue.add('a');
  queue.add('a');
  gate.resolve();
  await new Promise((r) => setTimeout(r, 10));
  await queue.idle();
  expect(runs).toBe(2);
  expect(most).toBe(1);
});

test('a failing key is retried with doubling backoff, then succeeds and is not retried again', async () => {
  const at: number[] = [];
  const queue = new WorkQueue(
    () => {
      at.push(Date.now());
      return at.length < 3 ? Promise.reject(new Error('API server says no')) : Promise.resolve();
    },
    { name: 't', initialBackoffMs: 40, maxBackoffMs: 1_000 },
    log,
  );
  queue.start();
  queue.add('a');
  await new Promise((r) => setTimeout(r, 400));
  expect(at).toHaveLength(3);
  expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(35);
  expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(75);
});

test('stop aborts the running reconcile at once and dispatches nothing more until start; queued keys survive', async () => {
  const started: string[] = [];
  let aborted = false;
  const queue = new WorkQueue(
    (key, signal) =>
      new Promise((resolve, reject) => {
        started.push(key);
        if (key !== 'slow') return resolve();
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason as Error);
        });
      }),
    { name: 't', concurrency: 1 },
    log,
  );
  queue.start();
  queue.add('slow');
  queue.add('next');
  await new Promise((r) => setTimeout(r, 10));
  queue.stop();
  expect(aborted).toBe(true);
  await new Promise((r) => setTimeout(r, 20));
  expect(started).toEqual(['slow']);
  expect(queue.length).toBe(1);
  queue.start();
  await queue.idle();
  expect(started).toEqual(['slow', 'next']);
});

test('the rate limit spaces dispatches: 6 keys at 20/s with burst 1 take at least 250 ms', async () => {
  const at: number[] = [];
  const queue = new WorkQueue(() => Promise.resolve(void at.push(Date.now())), { name: 't', concurrency: 4, ratePerSecond: 20, burst: 1 }, log);
  for (let i = 0; i < 6; i++) queue.add(`k${i}`);
  const begin = Date.now();
  queue.start();
  while (at.length < 6) await new Promise((r) => setTimeout(r, 10));
  expect(at[5]! - begin).toBeGreaterThanOrEqual(240);
});

test('a reconcile asking to be requeued runs again after the delay', async () => {
  let runs = 0;
  const queue = new WorkQueue(() => Promise.resolve(++runs === 1 ? { requeueAfterMs: 30 } : undefined), { name: 't' }, log);
  queue.start();
  queue.add('a');
  await new Promise((r) => setTimeout(r, 120));
  expect(runs).toBe(2);
});
