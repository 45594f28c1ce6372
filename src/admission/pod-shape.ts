import { isObject } from '../is-object.js';

function absent(value: unknown): boolean {
  return value === undefined || value === null;
}

// This runs on every review: paths are built as closures and only turned
// into strings when something is actually wrong.
type Path = () => string;

function stringMapProblem(value: unknown, path: string): string | undefined {
  if (absent(value)) return undefined;
  if (!isObject(value)) return `${path} is not an object`;
  for (const key in value) {
    if (typeof value[key] !== 'string') return `${path}[${JSON.stringify(key)}] is not a string`;
  }
  return undefined;
}

/** Checks each element of an optional array; `check` returns a problem or undefined. */
function arrayProblem(value: unknown, path: Path, check: (item: Record<string, unknown>, at: Path) => string | undefined): string | undefined {
  if (absent(value)) return undefined;
  if (!Array.isArray(value)) return `${path()} is not an array`;
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
    const at = (): string => `${path()}[${index}]`;
    if (!isObject(item)) return `${at()} is not an object`;
    const problem = check(item, at);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function optionalString(value: unknown, path: Path, field: string): string | undefined {
  return value === undefined || typeof value === 'string' ? undefined : `${path()}.${field} is not a string`;
}

function containerProblem(container: Record<string, unknown>, at: Path): string | undefined {
  if (typeof container.name !== 'string') return `${at()}.name is not a string`;
  return (
    optionalString(container.image, at, 'image') ??
    arrayProblem(container.env, () => `${at()}.env`, (env, envAt) => optionalString(env.value, envAt, 'value')) ??
    arrayProblem(container.volumeMounts, () => `${at()}.volumeMounts`, (mount, mountAt) => optionalString(mount.mountPath, mountAt, 'mountPath'))
  );
}

/**
 * The API server only sends pods it has already decoded, but the webhook must
 * not throw on a body it did not expect: when a field the mutation reads has
 * the wrong JSON type, the pod is left alone rather than patched from a guess.
 * Returns what is wrong, or undefined when the mutation can read the pod.
 */
export function podShapeProblem(object: unknown): string | undefined {
  if (!isObject(object)) return 'object is not a JSON object';
  const { metadata, spec } = object;
  if (metadata !== undefined) {
    if (!isObject(metadata)) return 'metadata is not an object';
    const problem = stringMapProblem(metadata.labels, 'metadata.labels') ?? stringMapProblem(metadata.annotations, 'metadata.annotations');
    if (problem !== undefined) return problem;
  }
  if (absent(spec)) return undefined;
  if (!isObject(spec)) return 'spec is not an object';
  return (
    arrayProblem(spec.containers, () => 'spec.containers', containerProblem) ??
    arrayProblem(spec.volumes, () => 'spec.volumes', (volume, at) => (typeof volume.name === 'string' ? undefined : `${at()}.name is not a string`))
  );
}
