// `wutong-backup release-finalizers`: removes the data guard's finalizer from
// every PVC (see src/kube/release-finalizers.ts), for uninstalling, or when
// no controller runs and a deletion must go ahead now.
import type { CliIo } from './cli-io.js';
import { CliError } from './cli-error.js';
import { parseOptions } from './parse-options.js';

export const RELEASE_USAGE = `Usage: wutong-backup release-finalizers [options]

Removes the data guard's finalizer (backup.wutong.io/data-guard) from every
Wutong PVC (creator=Wutong) in the cluster of the current kubeconfig, so no
deletion waits for a controller. A PVC already being deleted first has its PV
kept (reclaim policy Retain, labelled backup.wutong.io/retained-volume, with a
record in the project's namespace): this command does not check backups, so
it never lets data go. Stop the controller first (scale the Deployment to 0)
or remove protection from the policy, or the controller puts the finalizers
back on live PVCs.

Options:
  -n, --namespace NAME   Only PVCs in this namespace (default: all namespaces)
      --records NAME     Namespace of wutong-backup, where records are written (default: $POD_NAMESPACE, else "wutong-backup")
  -h, --help             Show this help
`;

const OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  records: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const REQUEST_TIMEOUT_MS = 30_000;

export async function runReleaseFinalizersCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, OPTIONS, 'release-finalizers');
  if (values.help) {
    io.stdout.write(RELEASE_USAGE);
    return 0;
  }
  const [{ findCluster }, { kubeHttp }, { releaseFinalizers }] = await Promise.all([
    import('../kube/kube-config.js'),
    import('../kube/kube-http.js'),
    import('../kube/release-finalizers.js'),
  ]);
  const cluster = await findCluster(io.env);
  if (!cluster) throw new CliError('no cluster: set KUBECONFIG or create ~/.kube/config', 2);
  try {
    const released = await releaseFinalizers(kubeHttp(cluster.kubeConfig), {
      ...(values.namespace ? { namespace: values.namespace } : {}),
      recordNamespace: values.records || io.env.POD_NAMESPACE || 'wutong-backup',
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      now: new Date(),
    });
    for (const r of released) io.stdout.write(`released ${r.claim}${r.keptVolume ? ` (being deleted: kept PersistentVolume ${r.keptVolume}, Retain)` : ''}${r.note ? `: ${r.note}` : ''}\n`);
    io.stdout.write(`${released.length} PVC${released.length === 1 ? '' : 's'} released\n`);
    return 0;
  } catch (err) {
    throw new CliError(`cannot release the finalizers (${cluster.source}): ${(err as Error).message}; nothing is lost, run it again`, 2);
  }
}
