/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the server's
 * busy time goes, by area (express, body-parser, JSON.parse, mutation, pino,
 * prom-client, TLS, GC, ...) and by function, self time only, idle excluded.
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top-n] [requests]
 *
 * With `requests` (how many reviews the profiled process served) each row
 * also shows microseconds per review.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Native V8/Node builtins worth naming on their own: they are the work, not glue. */
const NATIVE_AREAS: Record<string, string> = {
  parse: 'JSON.parse',
  stringify: 'JSON.stringify',
  '(garbage collector)': 'GC',
  '(program)': 'native (V8/libuv/OpenSSL, not attributed)',
};

export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  // V8 books the JSON.parse builtin to its caller; in body-parser's parse() it is nearly all of the self time.
  if (functionName === 'parse' && url.endsWith('body-parser/lib/types/json.js')) return 'JSON.parse (in body-parser parse())';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] ?? url;
  const app = /\/dist\/src\/([^/]+)\//.exec(url);
  if (app) return `app: src/${app[1]}`;
  if (url.startsWith('node:')) {
    if (/tls|crypto/.test(url)) return 'node: tls';
    if (/http/.test(url)) return 'node: http';
    if (/stream/.test(url)) return 'node: streams';
    if (/net|stream_base|tcp/.test(url)) return 'node: net';
    return 'node: other';
  }
  if (url === '') return NATIVE_AREAS[functionName] ?? `native: ${functionName || '(anonymous)'}`;
  return url;
}

export function summarise(profile: CpuProfile, top: number, requests?: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attributing it to sample i is V8's own convention.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url ? ` ${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1)}%`;
  const perReview = (us: number): string => (requests ? ` ${(us / requests).toFixed(1)} |` : '');
  const head = requests ? ' µs/review |' : '';
  const rule = requests ? '---:|' : '';
  const rows = (map: Map<string, number>, n: number): string[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => `| ${name.replaceAll('|', '\\|')} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |${perReview(us)}`);
  return [
    `Busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (percentages are of busy time)` +
      (requests ? `; ${requests} reviews, ${(busy / requests).toFixed(0)} µs busy per review (profiler overhead included).` : '.'),
    '',
    `| Area (self time) | ms | share |${head}`,
    `|---|---:|---:|${rule}`,
    ...rows(areas, 40),
    '',
    `| Top ${top} functions (self time) | ms | share |${head}`,
    `|---|---:|---:|${rule}`,
    ...rows(functions, top),
  ].join('\n');
}

export function summariseFile(file: string, top: number, requests?: number): string {
  return summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top, requests);
}

// Run as a command, not when bench.ts imports summariseFile.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, topArg, requestsArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary <file.cpuprofile> [top-n] [requests]\n');
    process.exit(2);
  }
  process.stdout.write(`${summariseFile(file, Number(topArg ?? 30), requestsArg ? Number(requestsArg) : undefined)}\n`);
}
