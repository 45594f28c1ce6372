import { readFileSync } from 'node:fs';

// The Dockerfile read as data, so the runtime-stage test performs exactly the
// steps the image build does and fails when the Dockerfile grows one it does
// not know how to perform here (no container engine runs on this machine).

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

export interface Copy {
  /** The stage copied from, or undefined for the build context. */
  from: string | undefined;
  source: string;
  destination: string;
}

/** The final stage, in the terms the test needs. */
export interface RuntimeStage {
  workdir: string;
  env: Record<string, string>;
  copies: Copy[];
  user: { uid: number; gid: number };
  entrypoint: string[];
  /** The build stage's own steps, for the test to check what it stands in for. */
  buildStage: Stage;
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const space = line.search(/\s/);
    out.push({ keyword: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() });
  }
  return out;
}

export function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const [base = '', as, name] = instruction.args.split(/\s+/);
      out.push({ base, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      const current = out.at(-1);
      if (current === undefined) throw new Error(`Dockerfile: ${instruction.keyword} before any FROM`);
      current.instructions.push(instruction);
    }
  }
  return out;
}

/** `ENV a=b c=d`: the only form the Dockerfile uses (values without spaces or quotes). */
function envPairs(args: string): Array<[string, string]> {
  return args.split(/\s+/).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0 || /["'\s]/.test(pair)) throw new Error(`Dockerfile: ENV "${pair}" is not the key=value form this test reads`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

function copyOf(args: string): Copy {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const unknown = flags.filter((f) => !f.startsWith('--from='));
  if (unknown.length > 0 || paths.length !== 2) throw new Error(`Dockerfile: COPY ${args} is not a form this test performs`);
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, source: paths[0] ?? '', destination: paths[1] ?? '' };
}

export function runtimeStage(path: string): RuntimeStage {
  const all = stages(readFileSync(path, 'utf8'));
  const runtime = all.at(-1);
  const buildStage = all.find((s) => s.name !== undefined && s !== runtime);
  if (runtime === undefined || buildStage === undefined) throw new Error('Dockerfile: expected a build stage and a runtime stage');
  const stage: RuntimeStage = { workdir: '/', env: {}, copies: [], user: { uid: 0, gid: 0 }, entrypoint: [], buildStage };
  for (const { keyword, args } of runtime.instructions) {
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = args;
        break;
      case 'ENV':
        for (const [key, value] of envPairs(args)) stage.env[key] = value;
        break;
      case 'COPY':
        stage.copies.push(copyOf(args));
        break;
      case 'USER': {
        const [uid, gid] = args.split(':').map(Number);
        if (uid === undefined || !Number.isInteger(uid) || (gid !== undefined && !Number.isInteger(gid))) {
          throw new Error(`Dockerfile: USER ${args} is not numeric`);
        }
        stage.user = { uid, gid: gid ?? uid };
        break;
      }
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        // A RUN, VOLUME, CMD... in the runtime stage is a step this test does not perform: say so rather than pass.
        throw new Error(`Dockerfile: runtime stage instruction ${keyword} is not performed by the runtime-stage test; teach it`);
    }
  }
  return stage;
}
