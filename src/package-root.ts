import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root folder, found by walking up from this module: the same
 * code runs from src/ (tests) and dist/src/ (npm start, the image), so a fixed
 * relative path would be right in only one of them.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'manifests'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the wutong-backup package root (package.json beside manifests/)');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findRoot();

/** The version in package.json (the OpenAPI document's info.version). */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
