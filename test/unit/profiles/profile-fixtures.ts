import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../../src/admission/pod.js';
import { mutatePod } from '../../../src/admission/mutate-pod.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';

export const HEADER = 'apiVersion: backup.wutong.io/v1alpha1\nkind: HookPolicy\n';

/** A Wutong pod whose container "db" runs `image`, has `env` set with literal values, and mounts its PVC at `dataDir`. */
export function podWith(image: string, dataDir: string, env: Record<string, string> = {}, containerName = 'db'): Pod {
  return {
    metadata: { name: 'p-0', labels: { creator: 'Wutong', service_id: 'b'.repeat(32) } },
    spec: {
      containers: [
        { name: 'mesh', image: 'wutong/mesh-agent:v1' },
        {
          name: containerName,
          image,
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          volumeMounts: [{ name: 'data', mountPath: dataDir }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-p-0' } }],
    },
  };
}

/** The annotations a policy (YAML after the header) adds to a pod. */
export function annotationsFor(policyBody: string, pod: Pod): Record<string, string> {
  const mutation = mutatePod(pod, loadPolicy(HEADER + policyBody, 'test policy', 1), 'default');
  if (!mutation.handled) throw new Error(mutation.skipReason);
  return mutation.annotations;
}

export function argvOf(annotations: Record<string, string>, prefix: string): string[] {
  return JSON.parse(annotations[`${prefix}command`] ?? 'null') as string[];
}

/**
 * A bin directory holding stub tools and links to the few real ones the
 * profile scripts use, so no tool installed on this machine is picked up.
 */
export class StubBin {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'bin');
    mkdirSync(this.dir, { recursive: true });
    for (const tool of ['mv', 'rm', 'cat', 'grep', 'sleep', 'sed', 'mktemp', 'touch', 'find', 'head', 'cp', 'chmod']) {
      const real = ['/bin', '/usr/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
      if (real) symlinkSync(real, join(this.dir, tool));
    }
  }

  stub(name: string, script: string): void {
    writeFileSync(join(this.dir, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(this.dir, name), 0o755);
  }

  /** Runs an argv as Velero's exec would, with only this bin on PATH plus `env`. */
  run(argv: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
    const [file, ...args] = argv;
    const result = spawnSync(file ?? '', args, { encoding: 'utf8', env: { PATH: this.dir, ...env } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
}
