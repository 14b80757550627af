#!/usr/bin/env bash
# Run the Plant Bridge Hoot tests inside a real Odoo 19, headless, through Odoo's own unit-test
# runner (static/tests/*.test.js, bundled from owl_src/tests/ by `npm run build:owl`):
#   odoo-bin -d DB --test-tags '/web:WebSuite.test_unit_desktop[@plant_bridge]' --stop-after-init
#
# Usage: scripts/odoo-hoot.sh [--db DB]
#   --db DB   a database with plant_bridge installed (odoo-test.sh passes its test database);
#             default: a clone of the demo + plant_bridge template, dropped afterwards.
# Needs Chromium and python3-websocket: without the latter Odoo *skips* browser tests silently,
# so this script refuses to run without it. Prints "hoot: N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/odoo-common.sh"
db=""
while [ $# -gt 0 ]; do
    case "$1" in
        --db) db="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
pb_require_odoo
pb_ensure_role
if ! "$ODOO_PYTHON" -c 'import websocket' 2>/dev/null; then
    echo "FAILED: python3-websocket is missing: Odoo would skip the browser tests silently"; exit 1
fi
if ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null; then
    echo "FAILED: no chromium on PATH for Odoo's browser tests"; exit 1
fi
# the browser talks to this Odoo over HTTP: a port nobody else (another engineer's Odoo) uses
own_db=0
cleanup() { [ "$own_db" -eq 0 ] || pb_dropdb "$db" || true; }
trap cleanup EXIT
if [ -z "$db" ]; then
    db="pb_hoot_$(pb_random_suffix)"
    pb_clonedb "$(pb_addon_template)" "$db"
    own_db=1
fi
# Hoot runs *every* test of the bundle when the filter matches none of them: make sure ours are there
installed="$(psql -qtAX -U "$ODOO_DB_USER" -d "$db" -c "SELECT state FROM ir_module_module WHERE name = 'plant_bridge'")"
if [ "$installed" != "installed" ]; then
    echo "FAILED: plant_bridge is not installed in $db (state: ${installed:-none})"; exit 1
fi
if ! compgen -G "$PB_REPO/odoo_addon/plant_bridge/static/tests/*.test.js" > /dev/null; then
    echo "FAILED: no odoo_addon/plant_bridge/static/tests/*.test.js (run npm run build:owl)"; exit 1
fi
log="$PB_ODOO_LOG_DIR/hoot-$db.log"

pb_log "Hoot tests of plant_bridge on $db"
# a hard stop: were the filter to match nothing, the whole JS suite would run for half an hour
pb_odoo_argv -d "$db" --test-tags '/web:WebSuite.test_unit_desktop[@plant_bridge]' --stop-after-init \
    --http-port="$(pb_free_port)" --log-level=info
timeout 900 "${PB_ODOO_ARGV[@]}" > "$log" 2>&1 || true

# Odoo's runner reports one Python test (the whole JS suite); Hoot's lines say what ran in ours.
summary="$(grep -E 'odoo.tests.result: .* tests when loading' "$log" | tail -1 || true)"
ended="$(grep -oE '"@plant_bridge" ended \([^)]*\)' "$log" | tail -1 || true)"
passed="$(grep -oE 'passed: [0-9]+' <<< "$ended" | grep -oE '[0-9]+' || echo 0)"
failed="$(grep -oE 'failed: [0-9]+' <<< "$ended" | grep -oE '[0-9]+' || echo 0)"
grep -E '\[HOOT\] Test ".*" (passed|failed)' "$log" | sed -E 's/.*\[HOOT\] //' | cut -c1-300 || true
grep -A12 '\[HOOT\] Test ".*" failed' "$log" | grep -vE '^\s+at ' | cut -c1-300 | head -60 || true
echo "${summary:-no test summary found}"
echo "hoot: $passed passed, $failed failed"
if [ -n "$ended" ] && [ "$passed" -gt 0 ] && [ "$failed" -eq 0 ] && [[ "$summary" =~ \ 0\ failed,\ 0\ error ]] \
        && grep -q '\[HOOT\] Test suite succeeded' "$log"; then
    echo "odoo-hoot: OK (log: $log)"
else
    echo "odoo-hoot: FAILED (log: $log)"
    exit 1
fi
