#!/bin/sh
# Run by `npm test` before anything else: the tests start their own redis-server, memcached and
# node processes on free loopback ports, drive Debian's headless chromium, run the WASM core under
# Python's wasmtime, and compare search with RediSearch and Snowball's stemwords, so those must be
# installed. When one is missing and this is a
# Debian machine where we are root (or have password-less sudo), the Debian packages are installed
# with apt-get and wasmtime with pip; anywhere else the script names what is missing and how to
# install it, and fails. A test never skips for want of a tool.
#
# Another Debian package the tests need: add "program:package" to TOOLS (or "file:package" to FILES).
#
#   DYNOMITE_TEST_NO_INSTALL=1   only check, never install
set -eu

# program -> Debian package
TOOLS="redis-server:redis-server memcached:memcached redis-cli:redis-tools redis-benchmark:redis-tools
chromium:chromium python3:python3 stemwords:libstemmer-tools"
# a file the tests load -> Debian package
FILES="/usr/lib/redis/modules/redisearch.so:redis-redisearch
/usr/lib/python3/dist-packages/redis/__init__.py:python3-redis"
WASMTIME=49.0.0

has_pip() {
  python3 -m pip --version >/dev/null 2>&1
}

has_wasmtime() {
  python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('wasmtime') != '$WASMTIME')" >/dev/null 2>&1
}

missing_tools() {
  for pair in $TOOLS; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || printf '%s ' "${pair%%:*}"
  done
  for pair in $FILES; do
    [ -f "${pair%%:*}" ] || printf '%s ' "${pair%%:*}"
  done
}

missing_packages() {
  {
    for pair in $TOOLS; do
      command -v "${pair%%:*}" >/dev/null 2>&1 || printf '%s\n' "${pair#*:}"
    done
    for pair in $FILES; do
      [ -f "${pair%%:*}" ] || printf '%s\n' "${pair#*:}"
    done
    has_wasmtime || has_pip || printf 'python3-pip\n'
  } | sort -u | tr '\n' ' '
}

missing=$(missing_tools)
has_wasmtime || missing="${missing}wasmtime==$WASMTIME (python3) "
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
  echo "test-deps: not found: $missing" >&2
  if [ -n "$packages" ]; then
    echo "test-deps: installing the Debian packages $packages" >&2
    $as_root DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    $as_root DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
    # The packaged services are not used: each test starts its own on a free loopback port.
    for service in redis-server memcached; do
      ($as_root service "$service" stop || true) >/dev/null 2>&1
    done
  fi
  if ! has_wasmtime; then
    echo "test-deps: installing wasmtime==$WASMTIME with pip" >&2
    user=""
    [ "$(id -u)" = 0 ] || user="--user"
    # Debian's python3 refuses system-wide pip installs unless told otherwise (PEP 668).
    python3 -m pip install -q $user "wasmtime==$WASMTIME" 2>/dev/null \
      || python3 -m pip install -q $user --break-system-packages "wasmtime==$WASMTIME"
  fi
  still=$(missing_tools)
  has_wasmtime || still="${still}wasmtime==$WASMTIME "
  if [ -n "$still" ]; then
    echo "test-deps: still not found after apt-get install: $still" >&2
    exit 1
  fi
  exit 0
fi

cat >&2 <<EOF
test-deps: the tests need, and cannot find: $missing
  Debian:   sudo apt-get install -y $packages
            python3 -m pip install wasmtime==$WASMTIME
            (npm test does both by itself when run as root or with password-less sudo)
  The tests start their own servers on loopback ports: nothing needs to be running.
EOF
exit 1
