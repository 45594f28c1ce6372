import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * THE IMAGES THE DATA-BEARING NODE KNOWS (test helper): no container
 * runtime runs here, so the kubelet stand-in runs what an image would run
 * as a real local process in a private mount namespace, with the image's
 * entrypoint behaviour written out as a shell program. Each program follows
 * the image's own entrypoint, named at its definition. An image not known
 * here runs no process: the kubelet reports it Running (as before), and
 * exec into it is refused (ExecUnavailable), never faked.
 */

/** A bind mount into the container's mount namespace that comes from the image, not from a pod volume. */
export interface ImageBind {
  source: string;
  target: string;
  /** The source is a file (the target is created as one). */
  file?: boolean;
}

export interface ImageProgram {
  /** What the program stands for, for logs and messages. */
  kind: 'mariadb' | 'postgres' | 'velero-restore-helper' | 'wutong-backup';
  /**
   * Shell commands run as root inside the namespace after the mounts; the
   * last one must `exec` the container's main process so that it keeps the
   * pid the kubelet tracks (and exec enters).
   */
  script: string;
  /** The image's ENV (Dockerfile), under the container's own env. */
  imageEnv: Record<string, string>;
  /** Runtime directories the image has that are private to each container (tmpfs). */
  tmpfs: string[];
  binds: ImageBind[];
  /** The image's WORKDIR: exec's working directory when the container names none. */
  workingDir: string;
  /** The image's USER (uid:gid) for exec; undefined: root. */
  user: { uid: number; gid: number } | undefined;
  /** Its own network namespace (with lo up), as a pod has: database servers listen on fixed ports. */
  ownNetwork: boolean;
}

export interface ContainerShape {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  /** The container's own securityContext: its user and capabilities (kubernetes v1.20 pkg/kubelet/kuberuntime/security_context.go: the container's runAsUser wins over the image's USER). */
  securityContext?: { runAsUser?: number; runAsGroup?: number; capabilities?: { add?: string[]; drop?: string[] } };
}

/**
 * setpriv's arguments for the container's user and capabilities: its
 * securityContext's runAsUser/runAsGroup over the image's USER; for root,
 * `capabilities.drop: [ALL]` plus `add` is the bounding set (what root keeps
 * on exec), as the runtime applies it.
 */
function privileges(container: ContainerShape, image: { uid: number; gid: number }): { uid: number; gid: number; setpriv: string } {
  const uid = container.securityContext?.runAsUser ?? image.uid;
  const gid = container.securityContext?.runAsGroup ?? (container.securityContext?.runAsUser !== undefined ? uid : image.gid);
  const caps = container.securityContext?.capabilities;
  const bounding = caps?.drop?.includes('ALL') ? ` --bounding-set=-all${(caps.add ?? []).map((c) => `,+${c.toLowerCase()}`).join('')}` : '';
  return { uid, gid, setpriv: `setpriv --reuid=${uid} --regid=${gid} --clear-groups${bounding}` };
}

/** Quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
const argvLine = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');

// This file runs from test/e2e/support: the repository root holds dist/ (the project image's /app).
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the wutong-backup repository root');
    dir = parent;
  }
  return dir;
}
export const REPO_ROOT = findRepoRoot();

/** Debian keeps PostgreSQL's programs in a versioned directory; the postgres image puts it on PATH (ENV PATH …/usr/lib/postgresql/$PG_MAJOR/bin). */
function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a)).find((v) => existsSync(join(root, v, 'bin', 'initdb')));
  return version ? join(root, version, 'bin') : undefined;
}

/** The PATH of a Debian-based image (docker-library images set this one). */
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Image references by repository name: `mariadb:11.4`, `docker.io/library/mysql:8.0`, `velero/velero:v1.11.1`. */
const repositoryOf = (image: string): string => {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
};

/**
 * The docker-library mariadb image's docker-entrypoint.sh (MariaDB/mariadb-docker,
 * 11.x): when the datadir has no `mysql` directory it runs
 * mariadb-install-db, starts a temporary server without networking, sets
 * root's password from MARIADB_ROOT_PASSWORD (MYSQL_ROOT_PASSWORD) for
 * root@localhost and root@'%' (MARIADB_ROOT_HOST, default %), creates
 * MARIADB_DATABASE (MYSQL_DATABASE) if set, stops it, then execs mariadbd as
 * user mysql. No password and no MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: it
 * refuses to start (exit 1), as the image does. The server reads Debian's
 * /etc/mysql config like the image: socket /run/mysqld/mysqld.sock.
 * mysql images get the same treatment (MariaDB stands in for MySQL here).
 */
const MARIADB_ENTRYPOINT = `
DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
chown mysql:mysql /run/mysqld
if [ ! -d "$DATADIR/mysql" ]; then
  password="\${MARIADB_ROOT_PASSWORD:-\${MYSQL_ROOT_PASSWORD:-}}"
  allow_empty="\${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-\${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
  if [ -z "$password" ] && [ -z "$allow_empty" ]; then
    echo >&2 'error: database is uninitialized and password option is not specified'
    echo >&2 '  You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD'
    exit 1
  fi
  echo 'entrypoint: initializing database files'
  chown mysql:mysql "$DATADIR"
  mariadb-install-db --datadir="$DATADIR" --user=mysql --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >/dev/null
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" &
  temp=$!
  for i in $(seq 1 300); do
    mariadb-admin --socket="$SOCKET" -uroot ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  escaped=$(printf '%s' "$password" | sed -e 's/\\\\/\\\\\\\\/g' -e "s/'/\\\\\\\\'/g")
  host="\${MARIADB_ROOT_HOST:-%}"
  database="\${MARIADB_DATABASE:-\${MYSQL_DATABASE:-}}"
  # printf, not echo: dash's echo would turn the escaped backslashes back.
  {
    printf '%s\\n' "SET @@SESSION.SQL_LOG_BIN=0;"
    printf '%s\\n' "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
    printf '%s\\n' "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
    printf '%s\\n' "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname,'\\'');"
    printf '%s\\n' "SET PASSWORD FOR 'root'@'localhost'= PASSWORD('$escaped');"
    if [ "$host" != localhost ]; then
      printf '%s\\n' "CREATE USER 'root'@'$host' IDENTIFIED BY '$escaped';"
      printf '%s\\n' "GRANT ALL ON *.* TO 'root'@'$host' WITH GRANT OPTION;"
    fi
    if [ -n "$database" ]; then printf '%s\\n' "CREATE DATABASE IF NOT EXISTS \\\`$database\\\`;"; fi
  } | mariadb --socket="$SOCKET" -uroot --binary-mode
  kill "$temp"
  wait "$temp" || true
  echo 'entrypoint: MariaDB init process done. Ready for start up.'
fi
exec mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET"
`;

/**
 * The docker-library postgres image's docker-entrypoint.sh (docker-library/postgres,
 * 15): creates PGDATA (700, owned by postgres) and /var/run/postgresql;
 * when PGDATA has no PG_VERSION it needs POSTGRES_PASSWORD (or
 * POSTGRES_HOST_AUTH_METHOD=trust), runs initdb as postgres with
 * --username=$POSTGRES_USER --pwfile, appends `host all all all
 * scram-sha-256` to pg_hba.conf, creates POSTGRES_DB when it is not
 * `postgres`; then execs postgres as user postgres (socket in
 * /var/run/postgresql, listen_addresses='*').
 */
const POSTGRES_ENTRYPOINT = `
PGDATA="\${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
mkdir -p "$PGDATA"
chmod 700 "$PGDATA" || true
chown postgres:postgres "$PGDATA"
chown postgres:postgres /var/run/postgresql
chmod 3777 /var/run/postgresql
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  auth="\${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "\${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo >&2 'Error: Database is uninitialized and superuser password is not specified.'
    echo >&2 '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.'
    exit 1
  fi
  user="\${POSTGRES_USER:-postgres}"
  pwfile=/tmp/.pgpass-init
  printf '%s\\n' "\${POSTGRES_PASSWORD:-}" > "$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --username="$user" --pwfile="$pwfile" \${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf '\\nhost all all all %s\\n' "$auth" >> "$PGDATA/pg_hba.conf"
  db="\${POSTGRES_DB:-$user}"
  if [ "$db" != postgres ]; then
    as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
    as_postgres psql -v ON_ERROR_STOP=1 --username "$user" --no-password --dbname postgres -c "CREATE DATABASE \\"$db\\"" >/dev/null
    as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo 'PostgreSQL init process complete; ready for start up.'
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres -D "$PGDATA" -c listen_addresses='*'
`;

/** vmware-tanzu/velero v1.11.1 cmd/velero-restore-helper/velero-restore-helper.go, line for line, as a node program. */
export const VELERO_RESTORE_HELPER_JS = `
const { readdirSync, statSync, rmSync } = require('node:fs');
const { join } = require('node:path');
if (process.argv.length !== 3) {
  process.stderr.write("ERROR: exactly one argument must be provided, the restore's UID\\n");
  process.exit(1);
}
const uid = process.argv[2];
function done() {
  let children;
  try { children = readdirSync('/restores', { withFileTypes: true }); } catch (err) {
    process.stderr.write('ERROR reading /restores directory: ' + err.message + '\\n');
    return false;
  }
  for (const child of children) {
    if (!child.isDirectory()) { process.stdout.write(child.name + ' is not a directory, skipping.\\n'); continue; }
    const doneFile = join('/restores', child.name, '.velero', uid);
    try { statSync(doneFile); } catch (err) {
      if (err.code === 'ENOENT') { process.stdout.write('Not found: ' + doneFile + '\\n'); return false; }
      process.stderr.write('ERROR looking for ' + doneFile + ': ' + err.message + '\\n');
      return false;
    }
    process.stdout.write('Found ' + doneFile);
  }
  return true;
}
function removeFolder() {
  for (const child of readdirSync('/restores', { withFileTypes: true })) {
    if (!child.isDirectory()) { process.stdout.write(child.name + ' is not a directory, skipping.\\n'); continue; }
    const donePath = join('/restores', child.name, '.velero');
    rmSync(donePath, { recursive: true, force: true });
    process.stdout.write('Deleted ' + donePath);
  }
}
const ticker = setInterval(() => {
  if (!done()) return;
  clearInterval(ticker);
  process.stdout.write('All restic restores are done\\n');
  try { removeFolder(); process.stdout.write('Done cleanup .velero folder\\n'); } catch (err) { process.stdout.write(String(err) + '\\n'); }
}, 1000);
`;

export interface ImageContext {
  /** Where the node keeps files of its own (the restore helper's program). */
  nodeBinDir: string;
}

/**
 * What `container` runs on the data-bearing node, or undefined for an image
 * the testbed does not know (pretend: no process).
 */
export function imageProgram(container: ContainerShape, context: ImageContext): ImageProgram | undefined {
  const image = container.image ?? '';
  const repository = repositoryOf(image);
  const name = repository.split('/').pop() ?? repository;
  const common = { binds: [] as ImageBind[], user: undefined, workingDir: '/' };
  // The container's command/args replace the image's ENTRYPOINT/CMD, as with any image;
  // for the database images the testbed only knows their entrypoint, so a
  // container that names another command is not run (pretend).
  const ownEntrypoint = (container.command ?? []).length === 0;
  if (/mariadb|mysql/.test(name) && ownEntrypoint) {
    return { ...common, kind: 'mariadb', script: MARIADB_ENTRYPOINT, imageEnv: { PATH: IMAGE_PATH }, tmpfs: ['/run/mysqld', '/tmp'], ownNetwork: true };
  }
  if (/postgres/.test(name) && ownEntrypoint) {
    const bin = postgresBinDir();
    // The image's LANG is en_US.utf8, a locale it generates; Debian hosts have C.UTF-8 for sure.
    return {
      ...common,
      kind: 'postgres',
      script: POSTGRES_ENTRYPOINT,
      imageEnv: { PATH: bin ? `${IMAGE_PATH}:${bin}` : IMAGE_PATH, PGDATA: '/var/lib/postgresql/data', LANG: 'C.UTF-8' },
      tmpfs: ['/var/run/postgresql', '/tmp'],
      ownNetwork: true,
    };
  }
  // Velero v1.11.1 pkg/restore/restic_restore_action.go (the init container it adds): image
  // velero/velero(-restore-helper), command /velero-restore-helper, args [restore uid]. Both images
  // are built from the one Dockerfile, whose last line is `USER nonroot:nonroot` (L77; Makefile L126,
  // L182-199: `container BIN=velero-restore-helper`): distroless's nonroot, uid/gid 65532. The init
  // container gets no securityContext of its own unless Velero's plugin ConfigMap sets one
  // (pod_volume_restore_action.go L143-152), so it runs as 65532 unless the pod says otherwise, and
  // cannot remove the .velero folder the node agent (root) wrote (velero#8973).
  if (/^(.*\/)?velero\/velero(-restore-helper)?$/.test(repository) || repository === 'velero-restore-helper') {
    const argv = [...(container.command ?? ['/velero-restore-helper']), ...(container.args ?? [])];
    if (argv[0] !== '/velero-restore-helper') return undefined;
    const run = privileges(container, { uid: 65532, gid: 65532 });
    return {
      ...common,
      kind: 'velero-restore-helper',
      script: `exec ${run.setpriv} -- /velero-restore-helper/node /velero-restore-helper/main.cjs ${argvLine(argv.slice(1))}`,
      user: { uid: run.uid, gid: run.gid },
      imageEnv: { PATH: IMAGE_PATH },
      tmpfs: ['/restores'],
      binds: [
        { source: process.execPath, target: '/velero-restore-helper/node', file: true },
        { source: join(context.nodeBinDir, 'velero-restore-helper.cjs'), target: '/velero-restore-helper/main.cjs', file: true },
      ],
      ownNetwork: false,
    };
  }
  // The project's image (Dockerfile): distroless node at /nodejs/bin/node, WORKDIR /app with dist/,
  // ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"], USER 65532, ENV NODE_ENV/TLS_DIR. Here /app is
  // this repository (built: dist/) and /nodejs/bin/node this node binary. Its network is the node's:
  // its commands talk to the API server.
  if (name === 'wutong-backup') {
    // The Dockerfile has no CMD: args alone follow the ENTRYPOINT.
    const argv = [...(container.command ?? ['/nodejs/bin/node', 'dist/src/main.js']), ...(container.args ?? [])];
    const run = privileges(container, { uid: 65532, gid: 65532 });
    return {
      kind: 'wutong-backup',
      script: `cd /app && exec ${run.setpriv} -- ${argvLine(argv)}`,
      imageEnv: { PATH: IMAGE_PATH, NODE_ENV: 'production', TLS_DIR: '/tmp/certs' },
      tmpfs: ['/tmp'],
      binds: [
        { source: process.execPath, target: '/nodejs/bin/node', file: true },
        { source: REPO_ROOT, target: '/app' },
      ],
      workingDir: '/app',
      user: { uid: run.uid, gid: run.gid },
      ownNetwork: false,
    };
  }
  return undefined;
}
