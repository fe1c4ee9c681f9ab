#!/bin/sh
# Run by `npm test` before anything else: the tests start their own redis-server, memcached and
# node processes on free loopback ports, so those programs must be installed. When one is missing
# and this is a Debian/Ubuntu machine where we are root (or have password-less sudo), the Debian
# packages are installed with apt-get; anywhere else the script names what is missing and how to
# install it, and fails. A test never skips for want of a server.
#
#   DYNOMITE_TEST_NO_INSTALL=1   only check, never install
set -eu

# program -> Debian package
TOOLS="redis-server:redis-server memcached:memcached redis-cli:redis-tools redis-benchmark:redis-tools"

missing_tools() {
  for pair in $TOOLS; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || printf '%s ' "${pair%%:*}"
  done
}

missing_packages() {
  for pair in $TOOLS; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || printf '%s\n' "${pair#*:}"
  done | sort -u | tr '\n' ' '
}

missing=$(missing_tools)
[ -z "$missing" ] && exit 0
packages=$(missing_packages)

as_root=""
if [ "${DYNOMITE_TEST_NO_INSTALL:-}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    as_root="env"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n env"
  fi
fi

if [ -n "$as_root" ]; then
  echo "test-deps: ${missing}not found; installing the Debian packages: $packages" >&2
  $as_root DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  $as_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
  # The packaged services are not used: each test starts its own on a free loopback port.
  for service in redis-server memcached; do
    ($as_root service "$service" stop || true) >/dev/null 2>&1
  done
  still=$(missing_tools)
  if [ -n "$still" ]; then
    echo "test-deps: still not found after apt-get install: $still" >&2
    exit 1
  fi
  exit 0
fi

cat >&2 <<EOF
test-deps: the tests need ${missing}on the PATH (each test starts its own servers on loopback).
  Debian/Ubuntu:  sudo apt-get install -y $packages
                  (npm test does this by itself when run as root or with password-less sudo)
  macOS:          brew install redis memcached
EOF
exit 1
