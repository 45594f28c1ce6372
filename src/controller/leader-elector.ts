/** Whether this replica runs the controller loops; the webhook and the API serve on every replica regardless. */
export interface LeaderElector {
  start(): void;
  /** Stops campaigning and releases the lease if held, so another replica takes over at once. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Told synchronously on every change, `false` before another replica can have taken over. */
  subscribe(listener: (leading: boolean) => void): () => void;
}
