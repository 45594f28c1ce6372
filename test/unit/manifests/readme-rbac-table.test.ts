import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface RoleDoc {
  kind: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { name: string }[];
}

const ROLE_ORDER = ['webhook', 'api', 'controller'];

/** The project's roles a Role or ClusterRole is bound to, from the ServiceAccounts (wutong-backup-<role>) its bindings name. */
function rolesBoundTo(docs: readonly RoleDoc[], d: RoleDoc): string {
  const roles = docs
    .filter((b) => (b.kind === 'RoleBinding' || b.kind === 'ClusterRoleBinding') && b.roleRef?.kind === d.kind && b.roleRef.name === d.metadata?.name)
    .flatMap((b) => (b.subjects ?? []).map((s) => s.name.replace(/^wutong-backup-/, '')));
  return [...new Set(roles)].sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b)).join(',');
}

/** The README's scope column: the project's own namespace, Velero's, or cluster-wide. */
function scope(d: RoleDoc): string {
  if (d.kind === 'ClusterRole') return 'cluster';
  return d.metadata?.namespace === 'velero' ? 'velero namespace' : 'namespace';
}

/** One permission row: "webhook,controller|namespace|configmaps|wutong-backup-policy|list,watch". */
function rowsFromRbac(): string[] {
  const docs = parseAllDocuments(readFileSync(`${ROOT}manifests/base/rbac.yaml`, 'utf8')).map((d) => d.toJS() as RoleDoc);
  return docs
    .filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole')
    .flatMap((d) =>
      (d.rules ?? []).flatMap((r) =>
        r.apiGroups.flatMap((group) =>
          r.resources.map((resource) =>
            [rolesBoundTo(docs, d), scope(d), group ? `${resource}.${group}` : resource, (r.resourceNames ?? ['any']).join(','), [...r.verbs].sort().join(',')].join('|'),
          ),
        ),
      ),
    )
    .sort();
}

function rowsFromReadme(): string[] {
  const lines = readFileSync(`${ROOT}README.md`, 'utf8').split('\n').map((l) => l.trim());
  const header = lines.findIndex((l) => l === '| roles | scope | resource | names | verbs | for |');
  if (header < 0) throw new Error('README.md has no RBAC permission table');
  const rows: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [roles, scope, resource, names, verbs] = line.split('|').slice(1, 6).map((c) => c.trim().replace(/`/g, ''));
    rows.push([roles?.split(',').map((r) => r.trim()).join(','), scope, resource, names?.split(',').map((n) => n.trim()).join(','), verbs?.split(',').map((v) => v.trim()).sort().join(',')].join('|'));
  }
  return rows.sort();
}

test('the README’s permission table is exactly what manifests/base/rbac.yaml grants, to which roles', () => {
  expect(rowsFromReadme()).toEqual(rowsFromRbac());
});
