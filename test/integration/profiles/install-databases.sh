#!/bin/sh
# Installs the database servers the profile integration tests run for real
# (MariaDB for the mysql/mariadb profiles, PostgreSQL, Redis, etcd) from
# Debian, without recommended extras. Idempotent: does nothing when every
# tool is already there, so test setup can call it every time.
set -eu

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

have_postgres() {
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_dumpall" ] && [ -x "$dir/psql" ]; then return 0; fi
  done
  return 1
}

missing=
have mariadbd && have mariadb-install-db || missing="$missing mariadb-server"
have mariadb && have mariadb-dump && have mariadb-admin || missing="$missing mariadb-client"
have_postgres || missing="$missing postgresql"
have redis-server && have redis-cli || missing="$missing redis-server"
have etcd || missing="$missing etcd-server"
have etcdctl || missing="$missing etcd-client"

if [ -z "$missing" ]; then
  echo "install-databases: all database tools present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-databases: missing$missing, and installing needs root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-databases: missing$missing, and there is no apt-get" >&2
  exit 1
fi
echo "install-databases: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Test files run in parallel and may all find the tools missing: one installs,
# the others wait for it. apt's own lock is waited on too, not failed on.
exec 9>/var/lock/wutong-backup-install-databases.lock
flock 9
# shellcheck disable=SC2086 # one word per package
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
echo "install-databases: done"
