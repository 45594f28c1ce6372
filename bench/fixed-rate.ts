/**
 * Open-loop, fixed-rate HTTPS load generator: the latency half of the
 * benchmark. Request i is due at start + i/rate whatever happened to earlier
 * requests, and its latency is measured from that due time, not from when it
 * was actually written. A stalled server therefore shows up as the queueing
 * delay every request behind the stall suffers (no coordinated omission),
 * which is what the API server, sending pods at its own pace, would see.
 *
 * Prints one line `FIXED_RESULT {json}` with percentiles in microseconds.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parseArgs } from 'node:util';

interface Options {
  url: URL;
  body: Buffer;
  ca: Buffer;
  rate: number;
  durationS: number;
  warmupS: number;
  connections: number;
}

export interface FixedRateResult {
  rate: number;
  connections: number;
  measured: number;
  achievedRps: number;
  /** Responses that were not 200 with a JSONPatch in them, and transport errors. */
  bad: number;
  errors: number;
  unfinished: number;
  /** Latency from due time to last response byte, µs. */
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** How late the generator itself issued requests; large values mean the client, not the server, fell behind. */
  sendLagUs: { p99: number; max: number };
}

function positive(name: string, value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return n;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new Error(`--${name} is required`);
  return value;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      body: { type: 'string' },
      ca: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
    },
  });
  return {
    url: new URL(required('url', values.url)),
    body: readFileSync(required('body', values.body)),
    ca: readFileSync(required('ca', values.ca)),
    rate: positive('rate', values.rate, 1000),
    durationS: positive('duration', values.duration, 10),
    warmupS: positive('warmup', values.warmup, 2),
    connections: Math.round(positive('connections', values.connections, 16)),
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

const round = (us: number): number => Math.round(us * 10) / 10;

function run(opts: Options): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections, ca: opts.ca });
  const t0 = process.hrtime.bigint();
  const now = (): number => Number(process.hrtime.bigint() - t0);
  const intervalNs = 1e9 / opts.rate;
  const warmupNs = opts.warmupS * 1e9;
  const total = Math.round(opts.rate * (opts.warmupS + opts.durationS));
  const measuredCapacity = total - Math.floor(opts.rate * opts.warmupS) + 1;
  const latencies = new Float64Array(measuredCapacity);
  const lags = new Float64Array(measuredCapacity);
  let measured = 0;
  let lagCount = 0;
  let firstMeasuredDone = Number.POSITIVE_INFINITY;
  let lastMeasuredDone = 0;
  let bad = 0;
  let errors = 0;
  let outstanding = 0;
  let next = 0;
  const headers = { 'content-type': 'application/json', 'content-length': String(opts.body.length) };

  return new Promise((resolve) => {
    let finishing = false;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      agent.destroy();
      const sorted = latencies.slice(0, measured).sort();
      const sortedLag = lags.slice(0, lagCount).sort();
      const spanS = (lastMeasuredDone - firstMeasuredDone) / 1e9;
      resolve({
        rate: opts.rate,
        connections: opts.connections,
        measured,
        achievedRps: spanS > 0 ? Math.round(measured / spanS) : 0,
        bad,
        errors,
        unfinished: outstanding,
        latencyUs: {
          p50: round(percentile(sorted, 50)),
          p90: round(percentile(sorted, 90)),
          p99: round(percentile(sorted, 99)),
          p999: round(percentile(sorted, 99.9)),
          max: round(sorted[sorted.length - 1] ?? Number.NaN),
        },
        sendLagUs: { p99: round(percentile(sortedLag, 99)), max: round(sortedLag[sortedLag.length - 1] ?? Number.NaN) },
      });
    };
    const settle = (): void => {
      outstanding--;
      if (finishing && outstanding === 0) finish();
    };

    const send = (dueNs: number): void => {
      const isMeasured = dueNs >= warmupNs;
      if (isMeasured) lags[lagCount++] = (now() - dueNs) / 1e3;
      outstanding++;
      const req = request(
        { agent, method: 'POST', hostname: opts.url.hostname, port: opts.url.port, path: opts.url.pathname, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const doneNs = now();
            // A 200 without a patch would mean the bench is timing a skip, not the mutation.
            if (res.statusCode !== 200 || !Buffer.concat(chunks).includes('"patchType":"JSONPatch"')) bad++;
            if (isMeasured) {
              latencies[measured++] = (doneNs - dueNs) / 1e3;
              firstMeasuredDone = Math.min(firstMeasuredDone, doneNs);
              lastMeasuredDone = doneNs;
            }
            settle();
          });
        },
      );
      req.on('error', () => {
        errors++;
        settle();
      });
      req.end(opts.body);
    };

    // Busy-polls with setImmediate near the next due time: setTimeout's 1 ms
    // granularity would add up to a millisecond of generator-made latency. The
    // generator runs pinned to its own core, so the spinning costs the server nothing.
    const pump = (): void => {
      const t = now();
      while (next < total && next * intervalNs <= t) {
        send(next * intervalNs);
        next++;
      }
      if (next >= total) {
        finishing = true;
        if (outstanding === 0) finish();
        // A response that never comes must not hang the bench.
        setTimeout(finish, 10_000).unref();
        return;
      }
      const waitMs = (next * intervalNs - now()) / 1e6;
      if (waitMs > 3) setTimeout(pump, waitMs - 2);
      else setImmediate(pump);
    };
    pump();
  });
}

run(parseOptions(process.argv.slice(2))).then(
  (result) => {
    process.stdout.write(`FIXED_RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`fixed-rate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
