/**
 * THE DATA-BEARING NODE (test helper): what the kubelet stand-in of a node
 * that carries real volume data offers to the Velero stand-in's node agent,
 * which in a cluster reaches the same things through the node itself:
 *
 * - volume directories: Velero's node agent mounts the kubelet's pod
 *   directory (/var/lib/kubelet/pods) at /host_pods and finds a pod volume
 *   under /host_pods/<pod uid>/volumes/<plugin>/<volume dir>
 *   (vmware-tanzu/velero v1.11.1 pkg/util/kube/utils.go GetVolumeDirectory,
 *   pkg/podvolume/backupper.go / restorer.go); here the kubelet stand-in keeps
 *   that layout under its node root and answers where a mounted volume lives.
 * - exec: Velero runs backup hooks with pods/exec through the API server,
 *   which the kubelet serves (pkg/podexec/pod_command_executor.go); no
 *   kubelet serves exec here, so the Velero stand-in calls the node directly.
 *   The command runs in the named container's mount namespace with its
 *   environment, as `kubectl exec` would.
 *
 * Only pods this node runs have answers; a node that runs no real process
 * for a container (an image the testbed does not know) says so instead of
 * pretending a command succeeded.
 */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface ExecResult {
  /** The command's exit code; undefined when it was killed at the timeout. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Why an exec could not start at all (Velero's hook then fails with this error, as with a failed SPDY exec). */
export class ExecUnavailable extends Error {}

export interface NodeRuntime {
  readonly nodeName: string;
  /** The node's root directory (PV directories, pod directories, the node agent's scratch). */
  readonly root: string;
  /**
   * The host directory of pod volume `volume` of pod `podUid` as the kubelet
   * mounted it (…/pods/<uid>/volumes/<plugin>/<dir>, resolved to the PV or
   * emptyDir directory), or undefined when this node has not mounted it.
   */
  volumeDir(podUid: string, volume: string): string | undefined;
  /**
   * Runs `command` (an argv, no shell) in `container` of the pod, waiting at
   * most `timeoutMs`. Throws ExecUnavailable when the pod or container is not
   * running on this node or runs no real process.
   */
  exec(pod: PodRef, container: string, command: readonly string[], timeoutMs: number): Promise<ExecResult>;
}
