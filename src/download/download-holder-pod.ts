// The download holder: the pod that serves the restored volumes of the
// scratch namespace (`wutong-backup serve-archive`), and the Secret with
// its per-download certificate, key and the API's token digest. Pure
// builders; the controller creates both once Velero's restored pods are gone.
import { X509Certificate } from 'node:crypto';
import { caCommonName, issueCa, issueServingCertificate } from '../certificates/issue-certificates.js';
import { ARCHIVE_SECRET_DIR, SERVE_ARCHIVE_PORT } from './archive-server.js';
import { HOLDER_GRACE_SECONDS, HOLDER_MOUNT_ROOT } from '../holder/holder-pod.js';

export const DOWNLOAD_HOLDER_NAME = 'wutong-backup-download-holder';
export const DOWNLOAD_SECRET_NAME = 'wutong-backup-download-tls';
const SERVE_ARCHIVE_COMMAND: readonly string[] = ['/nodejs/bin/node', '/app/dist/src/cli/main.js', 'serve-archive'];

export interface DownloadCertificate {
  cert: string;
  key: string;
  /** X509Certificate.fingerprint256 of `cert`: what the record carries and the API pins. */
  fingerprint: string;
}

/**
 * A key and certificate for one download. Signed by a throwaway CA whose key
 * is dropped at once: nothing can chain to it, and the API trusts the leaf
 * by its fingerprint alone, so the host name in it does not matter.
 */
export function issueDownloadCertificate(validityMs: number, now = new Date()): DownloadCertificate {
  const ca = issueCa(caCommonName('wutong-backup-download', now), { validityMs, now });
  const leaf = issueServingCertificate(ca, [DOWNLOAD_HOLDER_NAME], { validityMs, now });
  return { ...leaf, fingerprint: new X509Certificate(leaf.cert).fingerprint256 };
}

export function downloadSecretObject(namespace: string, certificate: DownloadCertificate, tokenDigest: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: DOWNLOAD_SECRET_NAME, namespace },
    stringData: { 'tls.crt': certificate.cert, 'tls.key': certificate.key, 'token-sha256': tokenDigest },
  };
}

export interface DownloadHolderInput {
  namespace: string;
  image: string;
  /** The restored claims with data: each mounted read-only at /data/<claim>. Only those: a claim without restored data may be a re-created PV that points at the tenant's live storage (restore.go L1067-1125). */
  claims: readonly string[];
  /** The download's time limit: the kubelet kills the pod after it. */
  activeDeadlineSeconds: number;
  /** How long serve-archive waits for the API, as a Go duration. */
  wait: string;
}

/**
 * Runs as root with every capability dropped but CAP_DAC_READ_SEARCH: a
 * database's files are its own user's, mode 0600 or 0700 (MariaDB's datadir),
 * and no single non-root user can read every volume's files. That capability
 * reads, and nothing else: no write (read-only mounts and root filesystem),
 * no chown, no privilege escalation. (A non-root user keeps no capability
 * across exec in Kubernetes, which sets no ambient capabilities.)
 */
export function downloadHolderPod(input: DownloadHolderInput): Record<string, unknown> {
  const volume = (index: number): string => `claim-${index}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: DOWNLOAD_HOLDER_NAME, namespace: input.namespace, labels: { 'app.kubernetes.io/name': DOWNLOAD_HOLDER_NAME } },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: input.activeDeadlineSeconds,
      terminationGracePeriodSeconds: HOLDER_GRACE_SECONDS,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'serve-archive',
          image: input.image,
          imagePullPolicy: 'IfNotPresent',
          command: [...SERVE_ARCHIVE_COMMAND, ...input.claims.flatMap((claim) => ['--volume', `${claim}=${HOLDER_MOUNT_ROOT}/${claim}`]), '--port', String(SERVE_ARCHIVE_PORT), '--wait', input.wait],
          env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          ports: [{ name: 'archive', containerPort: SERVE_ARCHIVE_PORT, protocol: 'TCP' }],
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
          securityContext: {
            runAsUser: 0,
            runAsNonRoot: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
          },
          volumeMounts: [
            ...input.claims.map((claim, i) => ({ name: volume(i), mountPath: `${HOLDER_MOUNT_ROOT}/${claim}`, readOnly: true })),
            { name: 'download-tls', mountPath: ARCHIVE_SECRET_DIR, readOnly: true },
          ],
        },
      ],
      volumes: [
        ...input.claims.map((claim, i) => ({ name: volume(i), persistentVolumeClaim: { claimName: claim, readOnly: true } })),
        { name: 'download-tls', secret: { secretName: DOWNLOAD_SECRET_NAME, defaultMode: 0o400 } },
      ],
    },
  };
}
