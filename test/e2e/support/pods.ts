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
