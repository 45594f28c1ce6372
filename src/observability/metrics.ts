import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// prom-client instead of hand-written exposition: it gets the text format,
// label escaping and histogram buckets right, and adds process metrics.
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'wutong_backup_' });

export const admissionRequests = new Counter({
  name: 'wutong_backup_admission_requests_total',
  help: 'Admission reviews answered, by outcome (patched, unchanged, skipped, bad_request, overloaded, body_timeout, error).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

// Buckets reach down to 100 µs: a healthy review takes well under a millisecond.
export const admissionDuration = new Histogram({
  name: 'wutong_backup_admission_duration_seconds',
  help: 'Time from the request body being parsed to the response being written.',
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
  registers: [registry],
});

export const annotationsInjected = new Counter({
  name: 'wutong_backup_annotations_injected_total',
  help: 'Labels and annotations added to pods, by kind (label, fsb, hook).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const admissionWarnings = new Counter({
  name: 'wutong_backup_admission_warnings_total',
  help: 'Warnings returned to the API server, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const policyValid = new Gauge({
  name: 'wutong_backup_policy_valid',
  help: '1 when the last policy document read was valid, 0 when it was rejected (the last good one stays in force).',
  registers: [registry],
});

export const policyGeneration = new Gauge({
  name: 'wutong_backup_policy_generation',
  help: 'Generation of the policy in force: increments each time a valid policy is loaded.',
  registers: [registry],
});

export const certificateRegenerations = new Counter({
  name: 'wutong_backup_certificate_regenerations_total',
  help: 'Serving certificates or CAs (re)generated, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const admissionBodyBytesInFlight = new Gauge({
  name: 'wutong_backup_admission_body_bytes_in_flight',
  help: 'Bytes of admission request bodies being received and held, counted against ADMISSION_BODY_BUDGET.',
  registers: [registry],
});

// Accepted vs established tells a handshake storm apart from real load: a
// client that abandons handshakes (Go before 1.23, golang/go#59017) shows many
// accepted connections and few established ones.
export const connectionsAccepted = new Counter({
  name: 'wutong_backup_connections_accepted_total',
  help: 'TCP connections accepted by the webhook server.',
  registers: [registry],
});

export const connectionsEstablished = new Counter({
  name: 'wutong_backup_tls_connections_established_total',
  help: 'Connections whose TLS handshake completed, by negotiated protocol (h2, http/1.1).',
  labelNames: ['protocol'] as const,
  registers: [registry],
});

/** What the Velero caches hold; set by the backup API's cache (velero-cache.ts). */
let veleroCacheSizes: (() => Record<string, { objects: number; bytes: number }>) | undefined;
export function reportVeleroCacheSizes(sizes: () => Record<string, { objects: number; bytes: number }>): void {
  veleroCacheSizes = sizes;
}

// Computed when scraped (a walk over the cache), not on every watch event.
const cacheGauge = (name: string, help: string, measure: 'objects' | 'bytes'): Gauge<'resource'> =>
  new Gauge({
    name,
    help,
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      for (const [resource, size] of Object.entries(veleroCacheSizes?.() ?? {})) this.set({ resource }, size[measure]);
    },
  });

export const veleroCacheObjects = cacheGauge('wutong_backup_velero_cache_objects', 'Velero objects held in the backup API\'s watch caches, by resource.', 'objects');
export const veleroCacheBytes = cacheGauge(
  'wutong_backup_velero_cache_bytes',
  'JSON bytes of the slim views the backup API\'s watch caches hold, by resource (divide by the objects gauge for bytes per object).',
  'bytes',
);

export const leader = new Gauge({
  name: 'wutong_backup_leader',
  help: '1 while this replica holds the controller Lease and runs the controller loops, else 0.',
  registers: [registry],
});
leader.set(0);

export const reconciles = new Counter({
  name: 'wutong_backup_reconcile_total',
  help: 'Controller reconciles, by queue and outcome (success, error, aborted: leadership lost mid-way).',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry],
});

export const queueDepth = new Gauge({
  name: 'wutong_backup_queue_depth',
  help: 'Keys waiting in each controller work queue.',
  labelNames: ['queue'] as const,
  registers: [registry],
});

/** Components in the registry by state; set by the cluster runtime (roles/cluster-runtime.ts). */
let componentCounts: (() => Record<string, number>) | undefined;
export function reportComponentCounts(counts: () => Record<string, number>): void {
  componentCounts = counts;
}

export const components = new Gauge({
  name: 'wutong_backup_components',
  help: 'Wutong components the registry knows, by state (running, stopped, deleted: PVCs being deleted).',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    for (const [state, count] of Object.entries(componentCounts?.() ?? {})) this.set({ state }, count);
  },
});

export const retentionDeleted = new Counter({
  name: 'wutong_backup_retention_deleted_total',
  help: 'DeleteBackupRequests retention created for completed backups beyond a component\'s keep.',
  registers: [registry],
});

export const backfillPatched = new Counter({
  name: 'wutong_backup_backfill_patched_total',
  help: 'Running pods whose labels and annotations the backfill brought up to date (one per patch written).',
  registers: [registry],
});

/** How many pods wait for the backfill; set by backfill-loop.ts. */
let backfillQueueLength: (() => number) | undefined;
export function reportBackfillPending(length: () => number): void {
  backfillQueueLength = length;
}

export const backfillPending = new Gauge({
  name: 'wutong_backup_backfill_pending',
  help: 'Pods queued for the backfill (found needing a patch, not yet patched), as of the scrape.',
  registers: [registry],
  collect() {
    this.set(backfillQueueLength?.() ?? 0);
  },
});
