import type { V1Pod } from '@kubernetes/client-node';

export const SERVICE_ID = '3a9f1c0e5b7d4e2f8a6c1b0d9e8f7a6b';

/**
 * A pod as Wutong's StatefulSet controller creates it for a MySQL component:
 * the mesh sidecar comes first, so Velero's default (first container) would
 * run the dump in the wrong place.
 */
export function wutongMysqlPod(name: string): V1Pod {
  return {
    metadata: {
      name,
      labels: {
        creator: 'Wutong',
        service_id: SERVICE_ID,
        service_alias: 'gr3a9f1c',
        tenant_name: 'demo',
        tenant_env_name: 'dev',
        app_id: '7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f',
      },
    },
    spec: {
      // Required by validation for the projected token volume below.
      serviceAccountName: 'default',
      containers: [
        { name: 'wt-mesh', image: 'wutong/mesh-agent:v5.16', volumeMounts: [{ name: 'mesh-config', mountPath: '/etc/mesh' }] },
        {
          name: 'gr3a9f1c',
          image: 'mysql:8.0.36',
          env: [{ name: 'MYSQL_ROOT_PASSWORD', value: 'not-in-annotations' }],
          volumeMounts: [
            { name: 'data', mountPath: '/var/lib/mysql' },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'token', mountPath: '/var/run/secrets/tokens' },
          ],
        },
      ],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'data-gr3a9f1c-0' } },
        { name: 'mesh-config', configMap: { name: 'mesh-config' } },
        { name: 'tmp', emptyDir: {} },
        { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } },
      ],
    },
  };
}

export function plainPod(name: string, labels: Record<string, string> = {}, annotations?: Record<string, string>): V1Pod {
  return {
    metadata: { name, labels, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
  };
}

/** A minimal Wutong MySQL pod: one container `db` with a PVC at MySQL's data directory. */
export const mysqlPod = (name: string): V1Pod => ({
  metadata: { name, labels: { creator: 'Wutong', service_id: 'aaaabbbbccccddddeeeeffff00001111' } },
  spec: {
    containers: [{ name: 'db', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
  },
});

/** The mysql profile's pre-backup hook was put into container `db`: the pod went through the webhook. */
export const hooksInjected = (p: V1Pod): boolean => p.metadata?.annotations?.['pre.hook.backup.velero.io/container'] === 'db';

/** A Wutong pod the echo policy below matches (by its busybox image). */
export const busyboxPod = (name: string): V1Pod => ({
  metadata: { name, labels: { creator: 'Wutong', service_id: 'aaaabbbbccccddddeeeeffff00001111' } },
  spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
});

export const preBackupCommand = (p: V1Pod): string | undefined => p.metadata?.annotations?.['pre.hook.backup.velero.io/command'];

/** A policy whose one rule gives busybox pods this pre-backup command: tests tell policy versions apart by it. */
export function echoPolicy(command: string[], timeout = '1m'): string {
  return `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: app
    match:
      image: '^busybox'
    backup:
      pre:
        command: ${JSON.stringify(command)}
        timeout: ${timeout}
`;
}
