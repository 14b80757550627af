# Shared helpers for the scripts/odoo-*.sh scripts (sourced, not run).
#
# Odoo is found through ODOO_SRC (default /opt/odoo); without it the calling script prints
# "SKIPPED: no Odoo at <path>" and exits 0. PostgreSQL: PGHOST/PGPORT (127.0.0.1:5432), a
# superuser PG_SUPERUSER (postgres, trust auth) used only to create the Odoo role
# ODOO_DB_USER (odoo), since Odoo refuses to run as `postgres`.
#
# Installing mrp with demo data takes minutes, so databases are cloned from templates
# (createdb -T) named after a hash of what they contain; the filestore is copied with them.

set -euo pipefail
shopt -s inherit_errexit

PB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
ODOO_PYTHON="${ODOO_PYTHON:-/usr/bin/python3}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}"
PG_SUPERUSER="${PG_SUPERUSER:-postgres}"
ODOO_DB_USER="${ODOO_DB_USER:-odoo}"
PB_ODOO_DATA_DIR="${PB_ODOO_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/plant-bridge/odoo-data}"
PB_ODOO_LOG_DIR="${PB_ODOO_LOG_DIR:-${TMPDIR:-/tmp}/plant-bridge-odoo-logs}"
PB_BASE_MODULES="mrp,maintenance"

pb_require_odoo() {
    if [ ! -f "$ODOO_SRC/odoo-bin" ]; then
        echo "SKIPPED: no Odoo at $ODOO_SRC (set ODOO_SRC to an Odoo 19 source tree)"
        exit 0
    fi
    mkdir -p "$PB_ODOO_DATA_DIR" "$PB_ODOO_LOG_DIR"
}

pb_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

pb_psql() { psql -v ON_ERROR_STOP=1 -qtAX -U "$PG_SUPERUSER" -d postgres "$@"; }

pb_ensure_role() {
    if [ "$(pb_psql -c "SELECT 1 FROM pg_roles WHERE rolname = '$ODOO_DB_USER'")" != "1" ]; then
        pb_log "creating PostgreSQL role $ODOO_DB_USER"
        createuser -U "$PG_SUPERUSER" --createdb "$ODOO_DB_USER"
    fi
}

pb_db_exists() { [ "$(pb_psql -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = "1" ]; }

pb_dropdb() {
    pb_db_exists "$1" || return 0
    pb_psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1'" >/dev/null
    dropdb -U "$PG_SUPERUSER" --if-exists "$1"
    rm -rf "$PB_ODOO_DATA_DIR/filestore/$1"
}

# pb_clonedb TEMPLATE NEW: database and filestore
pb_clonedb() {
    pb_dropdb "$2"
    createdb -U "$ODOO_DB_USER" -T "$1" "$2"
    if [ -d "$PB_ODOO_DATA_DIR/filestore/$1" ]; then
        mkdir -p "$PB_ODOO_DATA_DIR/filestore"
        cp -a "$PB_ODOO_DATA_DIR/filestore/$1" "$PB_ODOO_DATA_DIR/filestore/$2"
    fi
}

# pb_odoo_argv [shell] ODOO-OPTIONS...: the odoo-bin command line in PB_ODOO_ARGV, so that a
# caller can background the python process itself (`"${PB_ODOO_ARGV[@]}" &`, $! is Odoo).
pb_odoo_argv() {
    local sub=()
    if [ "${1:-}" = shell ]; then sub=(shell); shift; fi
    PB_ODOO_ARGV=("$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" "${sub[@]}"
        --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$ODOO_DB_USER"
        --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$PB_REPO/odoo_addon"
        --data-dir="$PB_ODOO_DATA_DIR" --http-interface=127.0.0.1 "$@")
}

pb_odoo() {  # [shell] ODOO-OPTIONS...
    pb_odoo_argv "$@"
    "${PB_ODOO_ARGV[@]}"
}

# pb_odoo_shell DB SCRIPT [ARGS...]: run a python helper in `odoo-bin shell` (env is set up)
pb_odoo_shell() {
    local db="$1" script="$2"; shift 2
    PB_SCRIPT_ARGS="$*" pb_odoo shell -d "$db" --no-http --log-level=warn < "$script"
}

pb_hash() { sha1sum | cut -c1-10; }

pb_odoo_version_hash() {
    { cat "$ODOO_SRC/odoo/release.py"; echo "$PB_BASE_MODULES"; } | pb_hash
}

pb_addon_hash() {
    (cd "$PB_REPO/odoo_addon" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
        | sort -z | xargs -0 sha1sum) | { cat; pb_odoo_version_hash; } | pb_hash
}

# pb_check_log LOG: fail on ERROR/CRITICAL lines and on any WARNING (Odoo's own or ours)
pb_check_log() {
    local log="$1" bad
    bad="$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (WARNING|ERROR|CRITICAL) ' "$log" \
        | grep -vE "${PB_ALLOWED_WARNINGS:-^$}" || true)"
    if [ -n "$bad" ]; then
        echo "$bad" | cut -c1-600 | head -40
        return 1
    fi
}

# pb_template NAME ODOO-ARGS...: create a template database once (under a lock), else reuse
pb_template() {
    local name="$1"; shift
    exec 9>"$PB_ODOO_DATA_DIR/.lock-$name"
    flock 9
    if ! pb_db_exists "$name"; then
        local tmp="${name}_building" log="$PB_ODOO_LOG_DIR/$name.log"
        pb_log "building template $name (minutes, once per content hash)"
        pb_dropdb "$tmp"
        if ! "$@" -d "$tmp" --stop-after-init --log-level=info > "$log" 2>&1 || ! pb_check_log "$log"; then
            echo "FAILED to build template $name, see $log" >&2
            tail -20 "$log" >&2
            pb_dropdb "$tmp"
            flock -u 9
            return 1
        fi
        pb_psql -c "ALTER DATABASE \"$tmp\" RENAME TO \"$name\"" >/dev/null
        if [ -d "$PB_ODOO_DATA_DIR/filestore/$tmp" ]; then
            rm -rf "$PB_ODOO_DATA_DIR/filestore/$name"
            mv "$PB_ODOO_DATA_DIR/filestore/$tmp" "$PB_ODOO_DATA_DIR/filestore/$name"
        fi
    fi
    flock -u 9
}

# Base with mrp + maintenance (+ demo data or not): what plant_bridge depends on.
pb_base_template() {  # $1: demo|nodemo
    local name="pb_tpl_base_$1_$(pb_odoo_version_hash)"
    local demo=()
    [ "$1" = demo ] && demo=(--with-demo)
    pb_template "$name" pb_odoo -i "$PB_BASE_MODULES" "${demo[@]}" >&2 || return 1
    echo "$name"
}

# Base with demo + plant_bridge installed (for serve and bench).
# Suites start together on a fresh machine: the check, the seed clone and the build all happen
# under one lock per template (without it two suites both cloned the same `_seed` database and
# one failed with `createdb: duplicate key`). Runs in a command substitution: the lock (fd 8)
# ends with it.
pb_addon_template() {
    local base name
    base="$(pb_base_template demo)" || return 1
    name="pb_tpl_addon_$(pb_addon_hash)"
    exec 8>"$PB_ODOO_DATA_DIR/.lock-addon-$name"
    flock 8
    if ! pb_db_exists "$name"; then
        pb_clonedb "$base" "${name}_seed"
        pb_template "$name" pb_clone_and_install "${name}_seed" >&2 || { pb_dropdb "${name}_seed"; flock -u 8; return 1; }
        pb_dropdb "${name}_seed"
        # templates of older addon contents are of no use any more, but another checkout on this
        # machine (a branch being tested beside main) may be about to clone its own: keep the two
        # newest others (highest oid) and drop the rest
        local old
        for old in $(pb_psql -c "SELECT datname FROM pg_database WHERE datname LIKE 'pb\_tpl\_addon\_%' AND datname <> '$name' AND datname NOT LIKE '%\_seed' AND datname NOT LIKE '%\_building' ORDER BY oid DESC OFFSET 2"); do
            pb_dropdb "$old" || true
        done
    fi
    flock -u 8
    echo "$name"
}

# used by pb_addon_template: `pb_template` passes "-d <tmp> --stop-after-init ..."
pb_clone_and_install() {
    local seed="$1"; shift
    local tmp="$2"  # args: -d <tmp> ...
    pb_clonedb "$seed" "$tmp"
    pb_odoo -i plant_bridge --with-demo "$@"
}

# a free TCP port on loopback: test runs start Odoo's HTTP server, never on a fixed 8069
pb_free_port() { "$ODOO_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pb_random_suffix() { head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
