// Velero parses hook timeouts with Go's time.ParseDuration, so the policy
// accepts exactly that syntax ("30s", "5m", "1h30m") and nothing Go would reject.
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export function isGoDuration(value: string): boolean {
  return GO_DURATION.test(value);
}
