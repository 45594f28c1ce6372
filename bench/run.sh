#!/usr/bin/env bash
# npm run bench: builds the bench tools and runs bench/bench.ts (see bench/README.md).
# Expects dist/src to be built already (the npm script runs `npm run build` first).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(nproc)" -lt 2 ]; then
  echo "bench: needs 2 CPUs (server on one, load on the other); this machine has $(nproc)" >&2
  exit 1
fi

# With sched_autogroup on (Debian's default) `nice` only ranks processes
# within one session, so on a shared machine the server would get half its
# core at best. Rerun in a session of our own and raise that session's
# priority instead; it ends with the bench. BENCH_NICE=off leaves priority alone.
# The new session is out of the terminal's reach, so Ctrl-C is passed on here.
if [ -z "${BENCH_OWN_SESSION:-}" ] && [ "${BENCH_NICE:-}" != off ] && [ "$(id -u)" = 0 ] &&
  [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ]; then
  pidfile=$(mktemp)
  BENCH_OWN_SESSION="$pidfile" setsid --fork --wait bash "$0" "$@" &
  session=$!
  trap 'kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null; wait "$session"; rm -f "$pidfile"; exit 130' INT TERM
  rc=0
  wait "$session" || rc=$?
  rm -f "$pidfile"
  exit "$rc"
fi
if [ -n "${BENCH_OWN_SESSION:-}" ]; then
  echo $$ >"$BENCH_OWN_SESSION"
  echo "${BENCH_NICE:--20}" >/proc/self/autogroup
  echo "bench: own scheduling group at nice ${BENCH_NICE:--20} ($(cat /proc/self/autogroup))" >&2
fi

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

# BENCH_PROFILE=1: run the server under --cpu-prof and summarise where its time went.
if [ "${BENCH_PROFILE:-}" = 1 ] && [ -z "${BENCH_PROFILE_DIR:-}" ]; then
  export BENCH_PROFILE_DIR="$PWD/bench/results/profile-$(date +%Y%m%d-%H%M%S)"
fi

# The Go client plays kube-apiserver's webhook client: Go from Debian (provision.sh
# installs golang-go), standard library only, so nothing is downloaded.
if ! command -v go >/dev/null 2>&1; then
  echo "bench: installing Go (Debian package golang-go) for bench/go-client" >&2
  apt-get install -y golang-go >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y golang-go >/dev/null; }
fi
node_modules/.bin/tsc -p bench/tsconfig.json
(cd bench/go-client && GO111MODULE=off go build -o ../../dist/bench/go-client main.go)
(cd bench/go-floor && GO111MODULE=off go build -o ../../dist/bench/go-floor main.go)
(cd bench/go-records && GO111MODULE=off go build -o ../../dist/bench/go-records main.go)

# The records phase (records-bench.ts) starts the e2e harness's API server and
# etcd and pins nothing: they, the server and its client share both cores (in
# this session's scheduling group), as on a small node. BENCH_ONLY=records runs only it; BENCH_ONLY=go
# (or BENCH_RECORDS=0) only the webhook part.
records() { node dist/bench/records-bench.js; }
if [ "${BENCH_ONLY:-}" = records ]; then
  records
  exit
fi
# The controller phase (controller-bench.ts): start-up relist and memory with
# 5,000 components and 100,000 Backups, and stop-to-paused latency.
controller() { node dist/bench/controller-bench.js; }
if [ "${BENCH_ONLY:-}" = controller ]; then
  controller
  exit
fi
rc=0
taskset -c "${BENCH_LOAD_CPU:-1}" node dist/bench/bench.js || rc=$?
if [ -z "${BENCH_ONLY:-}" ] && [ "${BENCH_RECORDS:-1}" != 0 ] && [ -z "${BENCH_PROFILE_DIR:-}" ]; then
  records || rc=$?
fi
if [ -z "${BENCH_ONLY:-}" ] && [ "${BENCH_CONTROLLER:-1}" != 0 ] && [ -z "${BENCH_PROFILE_DIR:-}" ]; then
  controller || rc=$?
fi
exit "$rc"
