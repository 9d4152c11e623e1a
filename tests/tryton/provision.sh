#!/usr/bin/env bash
# Provision a throw-away, REAL Tryton 8.2 ERP (SQLite) on 127.0.0.1 for Plumb's
# integration tests.
#
# Adapted from shared/erp/start-tryton.sh (the team's reference Tryton
# launcher); this copy is self-contained: nothing under ../shared is read at
# run time.  Differences from the original: everything is cached under one
# directory, every start gets its own lab directory and database copy (so
# parallel test runs never share a database), the port is picked
# automatically, readiness is probed with python3 (no curl), concurrent starts
# are serialised with flock, and the result is printed as one JSON line.
#
# Usage:
#   tests/tryton/provision.sh start        # -> last stdout line is JSON:
#     {"url":"http://127.0.0.1:PORT","database":"plumb","user":"admin",
#      "password":"...","pid":N,"lab":"/.../lab.XXXXXX"}
#   tests/tryton/provision.sh stop LAB     # stop that server, delete its lab
#
# Progress messages go to stderr; stdout carries only the JSON line.
#
# Environment knobs:
#   PLUMB_TRYTON_CACHE  cache root (default <repo>/target/tryton): venvs,
#                       initialised databases, per-run lab directories
#   PORT                port to listen on (default: a free one picked here)
#   DB_NAME             database name (default plumb)
#   ADMIN_PASSWORD      admin password, >= 8 chars (default admin-ci-pass)
#   TRYTON_SERIES       Tryton series (default 8.2; modules must match it)
#   PLUMB_TRYTON_KEEP_LAB=1   `stop` keeps the lab directory (logs, DB)
#   PLUMB_TRYTON_START_TIMEOUT  seconds to wait for JSON-RPC (default 60)
#   PLUMB_TRYTON_DB_FROM  copy this database file into the lab instead of the
#                       freshly initialised one (a seeded snapshot)
#   PLUMB_TRYTON_OWNER_PID  if set, a watchdog stops the server (SIGTERM)
#                       once that process is gone: pass the test process's
#                       pid so a crashed test run leaves no server behind
#
# Needs python3 (>= 3.9) with the venv module + ensurepip, and access to PyPI
# on the first (cold) run.  Cold start ~1-2 min, warm start a few seconds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${PLUMB_TRYTON_CACHE:-$REPO/target/tryton}
TRYTON_SERIES=${TRYTON_SERIES:-8.2}
DB_NAME=${DB_NAME:-plumb}
ADMIN_USER=admin
ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin-ci-pass}
START_TIMEOUT=${PLUMB_TRYTON_START_TIMEOUT:-60}

# PyPI distributions.  trytond-sale pulls account, account_invoice,
# account_invoice_stock, account_product, company, country, currency, party,
# product and stock.  stock_package_shipping adds the tracking number
# (stock.shipment.out.shipping_reference) and, through stock_shipment_cost,
# the carrier (stock.shipment.out.carrier).  trytond-sale_shipment_cost is
# deliberately NOT installed: it makes every sale without a carrier fail at
# quote unless shipment_cost_method is null.  See tests/tryton/README.md.
PACKAGES=(
    "trytond~=${TRYTON_SERIES}.0"
    "trytond-sale~=${TRYTON_SERIES}.0"
    "trytond-stock~=${TRYTON_SERIES}.0"
    "trytond-product~=${TRYTON_SERIES}.0"
    "trytond-stock_package_shipping~=${TRYTON_SERIES}.0"
    "trytond-product_kit~=${TRYTON_SERIES}.0"
)
# Tryton modules activated in the database (dependencies come along).  product_kit
# adds kits (a product of type "kit" made of components), which the inventory flow
# syncs as bundles.
MODULES=(sale stock_package_shipping product_kit)

log() { echo "[plumb-tryton] $*" >&2; }
die() { local code=$1; shift; echo "[plumb-tryton] ERROR: $*" >&2; exit "$code"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Run "$@" while holding an exclusive lock on file $1.  Uses flock(1) from
# util-linux; without it falls back to an atomic mkdir lock (stale after
# 15 min, e.g. if a holder was SIGKILLed).
with_lock() {
    local lock=$1; shift
    if command -v flock >/dev/null 2>&1; then
        (
            flock -w 900 9 || die 1 "timed out waiting for lock $lock"
            "$@"
        ) 9>"$lock"
    else
        local dir=$lock.d waited=0
        until mkdir "$dir" 2>/dev/null; do
            if [ -n "$(find "$dir" -maxdepth 0 -mmin +15 2>/dev/null)" ]; then
                log "breaking stale lock $dir"; rmdir "$dir" 2>/dev/null || true
                continue
            fi
            waited=$((waited + 1))
            [ "$waited" -lt 9000 ] || die 1 "timed out waiting for lock $dir"
            sleep 0.1
        done
        local rc=0
        ( "$@" ) || rc=$?
        rmdir "$dir" 2>/dev/null || true
        return "$rc"
    fi
}

# ------------------------------------------------------------------ stop
if [ "${1:-}" = stop ]; then
    LAB=${2:-}
    [ -n "$LAB" ] || die 64 "usage: $0 stop LAB"
    [ -d "$LAB" ] || { log "no lab directory $LAB (already stopped?)"; exit 0; }
    [ -f "$LAB/.plumb-tryton-lab" ] || die 64 "$LAB is not a Plumb Tryton lab"
    if [ -f "$LAB/trytond.pid" ]; then
        pid=$(cat "$LAB/trytond.pid")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break; sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                log "pid $pid ignored SIGTERM for 10 s: SIGKILL"
                kill -9 "$pid" 2>/dev/null || true
            fi
            log "stopped pid $pid"
        fi
        rm -f "$LAB/trytond.pid"
    fi
    if [ "${PLUMB_TRYTON_KEEP_LAB:-0}" = 1 ]; then
        log "kept $LAB"
    else
        rm -rf "$LAB"
    fi
    exit 0
fi
[ "${1:-}" = start ] || die 64 "usage: $0 start | $0 stop LAB"

# ------------------------------------------------------------------ python
PY_MISSING="install it on Debian/Ubuntu with: apt-get install python3 python3-venv"
command -v python3 >/dev/null 2>&1 || die 2 "python3 not found; $PY_MISSING"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null \
    || die 2 "python3 >= 3.9 required (found $(python3 -V 2>&1)); $PY_MISSING"
python3 -c 'import venv, ensurepip' 2>/dev/null \
    || die 2 "python3 lacks the venv/ensurepip modules; $PY_MISSING"
PYVER=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')

t0=$(now)
mkdir -p "$CACHE/db"
CACHE=$(cd "$CACHE" && pwd)
VENV=$CACHE/venv-tryton$TRYTON_SERIES-py$PYVER
REQ_STAMP=$VENV/.plumb-requirements
REQS=$(printf '%s\n' "${PACKAGES[@]}")

# ------------------------------------------------------------------ 1. venv
# Keyed on the series + python version; the stamp (written last) records the
# requirement list, so a half-built venv or a changed list is rebuilt.
make_venv() {
    if [ -f "$REQ_STAMP" ] && [ "$(cat "$REQ_STAMP")" = "$REQS" ] \
            && "$VENV/bin/python" -c pass 2>/dev/null; then
        [ -s "$VENV/.plumb-freeze" ] || "$VENV/bin/pip" freeze \
            --disable-pip-version-check > "$VENV/.plumb-freeze"
        return 0
    fi
    local t; t=$(now)
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2 \
        || die 2 "python3 -m venv failed; $PY_MISSING"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-input \
        "${PACKAGES[@]}" >&2 \
        || die 1 "pip install of Tryton $TRYTON_SERIES failed (needs PyPI access)"
    "$VENV/bin/pip" freeze --disable-pip-version-check > "$VENV/.plumb-freeze"
    printf '%s\n' "$REQS" > "$REQ_STAMP"
    log "venv $VENV ready (pip install: $(elapsed "$t"))"
}
with_lock "$CACHE/venv.lock" make_venv

write_conf() {   # write_conf FILE DB_DIR PORT
    cat > "$1" <<EOF
[database]
uri = sqlite://
path = $2
list = True

[web]
listen = 127.0.0.1:$3

[session]
# idle timeout (s); default 300 would log the sync agent out between test phases
timeout = 3600
# failed-login attempts before 429 (default 5)
max_attempt = 50

[password]
length = 8
EOF
}

# ------------------------------------------------------------------ 2. database
# The initialised database (trytond-admin, ~30-60 s) is cached, keyed on the
# exact installed versions + admin password + activated modules + db name.
# (`pip freeze` is recorded by make_venv: running it costs ~0.5 s)
KEY=$( { cat "$VENV/.plumb-freeze"; echo "$ADMIN_PASSWORD";
         echo "${MODULES[*]}"; echo "$DB_NAME"; } | sha256sum | cut -c1-16)
CACHED_DB=$CACHE/db/$DB_NAME-$KEY.sqlite

init_db() {
    [ -s "$CACHED_DB" ] && return 0
    local t work passfile
    t=$(now)
    work=$(mktemp -d "$CACHE/db/init.XXXXXX")
    write_conf "$work/trytond.conf" "$work" 0
    : > "$work/$DB_NAME.sqlite"   # the SQLite backend refuses a missing file
    passfile=$work/pass
    printf '%s\n' "$ADMIN_PASSWORD" > "$passfile"
    if ! TRYTONPASSFILE="$passfile" "$VENV/bin/trytond-admin" \
            -c "$work/trytond.conf" -d "$DB_NAME" --all \
            -u "${MODULES[@]}" --activate-dependencies \
            --email admin@example.com >"$work/trytond-admin.log" 2>&1; then
        tail -n 60 "$work/trytond-admin.log" >&2
        die 1 "trytond-admin failed to initialise the database (log: $work/trytond-admin.log)"
    fi
    # checkpoint the WAL so the single .sqlite file is complete, then publish
    # it atomically (rename within the same directory tree)
    "$VENV/bin/python" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' \
        "$work/$DB_NAME.sqlite"
    mv "$work/$DB_NAME.sqlite" "$CACHED_DB"
    rm -rf "$work"
    log "database initialised ($(elapsed "$t")): $CACHED_DB"
}
with_lock "$CACHE/db.lock" init_db

# ------------------------------------------------------------------ 3. lab
# prune labs left by runs that never called `stop` (> 1 day old, server dead)
for old in "$CACHE"/lab.*; do
    [ -d "$old" ] && [ -n "$(find "$old" -maxdepth 0 -mmin +1440 2>/dev/null)" ] \
        || continue
    if [ -f "$old/trytond.pid" ] && kill -0 "$(cat "$old/trytond.pid")" 2>/dev/null; then
        continue
    fi
    rm -rf "$old"
done
LAB=$(mktemp -d "$CACHE/lab.XXXXXX")
touch "$LAB/.plumb-tryton-lab"
mkdir -p "$LAB/db"
# PLUMB_TRYTON_DB_FROM: start from a snapshot of a seeded database instead
# (the benchmarks keep their 10,000 products that way)
cp "${PLUMB_TRYTON_DB_FROM:-$CACHED_DB}" "$LAB/db/$DB_NAME.sqlite"
CONF=$LAB/trytond.conf
LOG=$LAB/trytond.log
PIDFILE=$LAB/trytond.pid

# run "$@" in its own session (setsid from util-linux; else nohup), so it
# outlives this script and ignores the caller's terminal signals
detach() {
    if command -v setsid >/dev/null 2>&1; then
        exec setsid "$@"
    else
        exec nohup "$@"
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready URL PID TIMEOUT -> 0 up, 3 process died, 4 timeout
wait_ready() {
    python3 - "$@" <<'PY'
import json, os, sys, time, urllib.request
url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
body = json.dumps({"id": 0, "method": "common.server.version",
                   "params": []}).encode()
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(3)
    try:
        req = urllib.request.Request(url + "/rpc/", data=body, method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=2) as r:
            if "result" in json.loads(r.read()):
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(4)
PY
}

# ------------------------------------------------------------------ 4. start
t=$(now)
attempt=0
while :; do
    attempt=$((attempt + 1))
    port=${PORT:-$(free_port)}
    write_conf "$CONF" "$LAB/db" "$port"
    # own session + no inherited stdio: the caller (a test harness reading our
    # stdout to EOF) must not wait for the server, nor signal it on exit.
    detach "$VENV/bin/trytond" -c "$CONF" -d "$DB_NAME" </dev/null >"$LOG" 2>&1 &
    pid=$!
    echo "$pid" > "$PIDFILE"
    rc=0
    wait_ready "http://127.0.0.1:$port" "$pid" "$START_TIMEOUT" || rc=$?
    [ "$rc" = 0 ] && break
    if [ "$rc" = 3 ] && [ -z "${PORT:-}" ] && [ "$attempt" -lt 3 ] \
            && grep -qi 'address already in use' "$LOG"; then
        log "port $port was taken meanwhile, retrying"
        continue
    fi
    kill "$pid" 2>/dev/null || true
    echo "----- tail of $LOG -----" >&2
    tail -n 40 "$LOG" >&2 || true
    if [ "$rc" = 3 ]; then
        die 1 "trytond exited before answering on 127.0.0.1:$port (lab $LAB)"
    fi
    die 1 "trytond did not answer common.server.version on 127.0.0.1:$port within ${START_TIMEOUT}s (lab $LAB)"
done
log "server up on 127.0.0.1:$port in $(elapsed "$t") (pid $pid); total $(elapsed "$t0")"

if [ -n "${PLUMB_TRYTON_OWNER_PID:-}" ]; then
    # detached watchdog: no inherited stdio, own session
    owner=$PLUMB_TRYTON_OWNER_PID
    # once the owner is gone (not when the server died on its own: its log is
    # evidence), the lab goes too, unless PLUMB_TRYTON_KEEP_LAB=1
    detach bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do
            sleep 1; done; kill -0 "$1" 2>/dev/null && exit 0; kill "$2" 2>/dev/null
            for _ in $(seq 1 100); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
            [ "$4" = 1 ] || rm -rf "$3"' _ "$owner" "$pid" "$LAB" \
        "${PLUMB_TRYTON_KEEP_LAB:-0}" </dev/null >/dev/null 2>&1 &
    log "watchdog: server stops when pid $owner exits"
fi

python3 -c 'import json, sys
print(json.dumps({"url": sys.argv[1], "database": sys.argv[2],
    "user": sys.argv[3], "password": sys.argv[4], "pid": int(sys.argv[5]),
    "lab": sys.argv[6], "base_db": sys.argv[7]}, separators=(",", ":")))' \
    "http://127.0.0.1:$port" "$DB_NAME" "$ADMIN_USER" "$ADMIN_PASSWORD" \
    "$pid" "$LAB" "$CACHED_DB"
