/**
 * The parts of a Pod the mutation reads. Declared here rather than taken from
 * @kubernetes/client-node so the admission core has no Kubernetes client in
 * its import graph, and because an AdmissionReview object is untyped JSON.
 */
export interface PodMetadata {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
}

/** A volume: its name plus exactly one source key (persistentVolumeClaim, configMap, ...). */
export interface Volume {
  name: string;
  [source: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: PodMetadata;
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
  };
}
