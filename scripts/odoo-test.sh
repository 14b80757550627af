#!/usr/bin/env bash
# Run the plant_bridge Odoo tests against a real Odoo 19 (ODOO_SRC, default /opt/odoo).
#
#  1. demo database (mrp + maintenance demo, cloned from a template): install plant_bridge with
#     demo data and run the tests tagged /plant_bridge; then upgrade it (-u plant_bridge);
#  1b. the Hoot tests of the OWL screens on that database (scripts/odoo-hoot.sh);
#  2. two concurrent transactions posting the same keys (scripts/odoo_concurrency_check.py);
#  3. database without demo data: install plant_bridge, then upgrade it;
#  4. the translation template i18n/plant_bridge.pot is current (scripts/odoo-pot.sh --check).
# Fails on any failed/erroring test and on any WARNING, ERROR or CRITICAL line in the logs.
# Prints "odoo: N passed, M failed" at the end.
set -euo pipefail
source "$(dirname "$0")/odoo-common.sh"
pb_require_odoo
pb_ensure_role

suffix="$(pb_random_suffix)"
test_db="pb_test_$suffix"
nodemo_db="pb_nodemo_$suffix"
logs="$PB_ODOO_LOG_DIR/test-$suffix"
mkdir -p "$logs"
cleanup() { pb_dropdb "$test_db" || true; pb_dropdb "$nodemo_db" || true; }
trap cleanup EXIT
status=0
step_failed() { echo "FAILED: $1 (log: $2)"; status=1; }

demo_base="$(pb_base_template demo)"
nodemo_base="$(pb_base_template nodemo)"

pb_log "install plant_bridge with demo data and run its tests on $test_db"
pb_clonedb "$demo_base" "$test_db"
pb_odoo -d "$test_db" -i plant_bridge --with-demo --test-enable --test-tags /plant_bridge \
    --http-port="$(pb_free_port)" --stop-after-init --log-level=info > "$logs/tests.log" 2>&1 || true
summary="$(grep -E 'odoo.tests.result: .* tests when loading' "$logs/tests.log" | tail -1 || true)"
echo "${summary:-no test summary found}"
ran=0 failed=0 errors=0
if [[ "$summary" =~ ([0-9]+)\ failed,\ ([0-9]+)\ error\(s\)\ of\ ([0-9]+)\ tests ]]; then
    failed="${BASH_REMATCH[1]}" errors="${BASH_REMATCH[2]}" ran="${BASH_REMATCH[3]}"
fi
grep -E '^(FAIL|ERROR): |: (FAIL|ERROR): ' "$logs/tests.log" | cut -c1-300 || true
if [ "$ran" -eq 0 ] || [ "$failed" -ne 0 ] || [ "$errors" -ne 0 ]; then
    step_failed "tests" "$logs/tests.log"
fi
pb_check_log "$logs/tests.log" || step_failed "warnings or errors in the test run log" "$logs/tests.log"

pb_log "Hoot tests of the OWL screens (scripts/odoo-hoot.sh) on $test_db"
if ! bash "$PB_REPO/scripts/odoo-hoot.sh" --db "$test_db" > "$logs/hoot.out" 2>&1; then
    step_failed "Hoot tests (OWL screens in Odoo's unit test runner)" "$logs/hoot.out"
fi
grep -E '^hoot: |^odoo-hoot: ' "$logs/hoot.out" || tail -5 "$logs/hoot.out"

pb_log "upgrade plant_bridge on the demo database"
pb_odoo -d "$test_db" -u plant_bridge --stop-after-init --log-level=info > "$logs/upgrade-demo.log" 2>&1 \
    && pb_check_log "$logs/upgrade-demo.log" || step_failed "upgrade with demo data" "$logs/upgrade-demo.log"

pb_log "concurrent batches with the same keys"
if pb_odoo_shell "$test_db" "$PB_REPO/scripts/odoo_concurrency_check.py" > "$logs/concurrency.log" 2>&1; then
    grep -E '^(concurrency|PASS)' "$logs/concurrency.log" || true
else
    cat "$logs/concurrency.log" | tail -30
    step_failed "concurrency check" "$logs/concurrency.log"
fi

pb_log "install and upgrade plant_bridge without demo data on $nodemo_db"
pb_clonedb "$nodemo_base" "$nodemo_db"
pb_odoo -d "$nodemo_db" -i plant_bridge --stop-after-init --log-level=info > "$logs/install-nodemo.log" 2>&1 \
    && pb_check_log "$logs/install-nodemo.log" || step_failed "install without demo" "$logs/install-nodemo.log"
pb_odoo -d "$nodemo_db" -u plant_bridge --stop-after-init --log-level=info > "$logs/upgrade-nodemo.log" 2>&1 \
    && pb_check_log "$logs/upgrade-nodemo.log" || step_failed "upgrade without demo" "$logs/upgrade-nodemo.log"
check="$(psql -qtAX -U "$ODOO_DB_USER" -d "$nodemo_db" -c "
    SELECT (SELECT count(*) FROM plant_bridge_site WHERE code = 'main')
        || ',' || (SELECT count(*) FROM ir_model_data WHERE module = 'plant_bridge' AND name LIKE 'demo_%')")"
if [ "$check" = "1,0" ]; then
    echo "no-demo install: site main present, no demo records"
else
    step_failed "no-demo install content (site main, demo records: $check)" "$logs/install-nodemo.log"
fi

pb_log "the translation template is current (scripts/odoo-pot.sh --check) on $nodemo_db"
bash "$PB_REPO/scripts/odoo-pot.sh" --check --db "$nodemo_db" > "$logs/pot.out" 2>&1 \
    || step_failed "i18n/plant_bridge.pot is out of date: run bash scripts/odoo-pot.sh" "$logs/pot.out"
tail -1 "$logs/pot.out"

passed=$((ran - failed - errors))
[ "$status" -eq 0 ] || [ "$ran" -gt 0 ] || passed=0
echo "odoo: $passed passed, $((failed + errors)) failed"
[ "$status" -eq 0 ] && echo "odoo-test: OK (logs in $logs)" || echo "odoo-test: FAILED (logs in $logs)"
exit "$status"
