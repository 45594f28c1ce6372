import type { HookProfile } from './hook-profile.js';
import { DATA_DIR_LINE, removeDumpHook, script } from './shell-snippets.js';

export const ETCD_SNAPSHOT_FILE = '.wutong-backup-etcd.db';

export const etcdProfile: HookProfile = {
  name: 'etcd',
  summary: 'etcd: etcdctl snapshot save into the data volume; restored with etcdutl before etcd starts (init restore hook)',
  image: '(^|/)etcd(:|@|$)',
  // etcdctl itself reads ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY... from the env.
  env: ['ETCDCTL_USER', 'ETCD_ROOT_PASSWORD'],
  dumpFile: ETCD_SNAPSHOT_FILE,
  backup: {
    // etcdctl reads its endpoints, TLS files and credentials from its own
    // ETCDCTL_* variables; Bitnami's root password is mapped onto them. The
    // snapshot is written to "<file>.part" and renamed by etcdctl itself.
    pre: {
      shell: script(
        'set -eu',
        `out={{dataDir}}/${ETCD_SNAPSHOT_FILE}`,
        'export ETCDCTL_API=3',
        'if [ -z "${ETCDCTL_USER:-}" ] && [ -n "${ETCD_ROOT_PASSWORD:-}" ]; then export ETCDCTL_USER="root:$ETCD_ROOT_PASSWORD"; fi',
        'etcdctl snapshot save "$out" >/dev/null',
      ),
      onError: 'Fail',
      timeout: '10m',
    },
  },
  restore: {
    // etcd cannot load a snapshot into a running member, so this runs in an
    // init container before etcd starts. It finds etcd's data directory by
    // its member/wal layout (an init container gets none of etcd's env),
    // restores the snapshot next to it, swaps the member directory in, and
    // removes the snapshot so a later pod restart does not restore it again.
    // The restored member is a single-member cluster (see docs/profiles.md).
    init: {
      shell: script(
        'set -eu',
        DATA_DIR_LINE,
        `snap="$data/${ETCD_SNAPSHOT_FILE}"`,
        'if [ ! -f "$snap" ]; then echo "no etcd snapshot at $snap: etcd starts from the restored files"; exit 0; fi',
        `wal=$(find "$data" -maxdepth 4 -type d -path '*/member/wal' 2>/dev/null | head -n 1)`,
        'dir="${wal%/member/wal}"',
        'if [ -z "$wal" ]; then dir="$data"; fi',
        'tmp="$dir/.wutong-restore-etcd"',
        'rm -rf "$tmp" "$dir/member.wutong-old"',
        'if command -v etcdutl >/dev/null 2>&1; then etcdutl snapshot restore "$snap" --data-dir "$tmp" >/dev/null',
        'else ETCDCTL_API=3 etcdctl snapshot restore "$snap" --data-dir "$tmp" >/dev/null; fi',
        'if [ -d "$dir/member" ]; then mv "$dir/member" "$dir/member.wutong-old"; fi',
        'mv "$tmp/member" "$dir/member"',
        'rm -rf "$tmp" "$dir/member.wutong-old" "$snap"',
        'echo "restored $snap into $dir"',
      ),
      containerName: 'wutong-restore-etcd',
    },
  },
  cleanup: removeDumpHook(ETCD_SNAPSHOT_FILE),
};
