# Run inside `odoo-bin shell -d <db>` (env is given); PB_SCRIPT_ARGS="N ROUNDS [PROFILE.prof]", e.g.
#   bash scripts/odoo-serve.sh --prepare-only --db pb_profile
#   source scripts/odoo-common.sh && pb_odoo_shell pb_profile scripts/odoo_bench_profile.py 1000 3 /tmp/post.prof
#
# Where a post_events call spends its time, in-process (no HTTP, no JSON): N downtime events
# on one work center posted ROUNDS times by the connector user, each call + flush + commit
# timed; the first batch again (all duplicates); then one more batch under cProfile (written to
# PROFILE.prof when given, top functions printed) with its number of SQL queries. Compare with
# the ORM ceiling (scripts/odoo_bench_orm.py) on the same database: the difference is what the
# posting endpoint adds to creating the records (trace rows, validation, savepoints).
import cProfile
import io
import os
import pstats
import statistics
import time
from datetime import datetime, timedelta

from odoo import Command

args = os.environ['PB_SCRIPT_ARGS'].split()
n, rounds = int(args[0]), int(args[1])
out = args[2] if len(args) > 2 else None
run = datetime.now().strftime('%Y%m%d%H%M%S')

login = f'pb_profile_{run}'
user = env['res.users'].create({  # noqa: F821 - given by odoo-bin shell
    'name': 'Profile connector', 'login': login,
    'group_ids': [Command.set(env.ref('plant_bridge.group_connector').ids)],  # noqa: F821
    'plant_bridge_site_ids': [Command.set(env['plant_bridge.site'].search([]).ids)],  # noqa: F821
})
env.cr.commit()  # noqa: F821
Api = env['plant_bridge.api'].with_user(user)  # noqa: F821


# after any downtime already recorded on the work center (a rerun on the same database)
workcenter = env['mrp.workcenter'].search([('name', '=', 'Assembly 2')], limit=1)  # noqa: F821
last = env['mrp.workcenter.productivity'].search(  # noqa: F821
    [('workcenter_id', '=', workcenter.id)], order='date_end desc', limit=1).date_end
base = max(datetime(2034, 1, 1), (last or datetime.min) + timedelta(days=1))


def events(offset_days, count):
    start = base + timedelta(days=offset_days)
    return [{
        'id': f'profile-{run}-{offset_days}-{i}', 'type': 'downtime', 'site': 'main', 'source': 'sim',
        'occurredAt': (start + timedelta(minutes=10 * i + 5)).isoformat() + '+00:00',
        'receivedAt': (start + timedelta(minutes=10 * i + 5)).isoformat() + '+00:00',
        'workcenter': 'Assembly 2', 'reason': 'Equipment Failure', 'description': 'profile-bench',
        'start': (start + timedelta(minutes=10 * i)).isoformat() + '+00:00',
        'end': (start + timedelta(minutes=10 * i + 5)).isoformat() + '+00:00',
    } for i in range(count)]


def post(batch):
    env.invalidate_all()  # noqa: F821 - a new request starts with an empty cache
    t0 = time.perf_counter()
    results = Api.post_events(batch, sidecar='profile')
    env.flush_all()  # noqa: F821
    env.cr.commit()  # noqa: F821
    seconds = time.perf_counter() - t0
    statuses = {r['status'] for r in results}
    assert statuses <= {'applied'}, statuses
    return seconds


post(events(0, 20))  # warm-up
rates = [n / post(events(10 + 10 * r, n)) for r in range(rounds)]
print(f'post_events in-process: {statistics.median(rates):.0f} events/s (rounds {[round(x) for x in rates]})')

t0 = time.perf_counter()
env.invalidate_all()  # noqa: F821
Api.post_events(events(10, n), sidecar='profile')
env.cr.rollback()  # noqa: F821
print(f'same batch again (all duplicates): {n / (time.perf_counter() - t0):.0f} events/s')

profiler = cProfile.Profile()
batch = events(10 + 10 * rounds, n)
env.invalidate_all()  # noqa: F821
queries_before = env.cr.sql_log_count  # noqa: F821
profiler.enable()
t0 = time.perf_counter()
Api.post_events(batch, sidecar='profile')
env.flush_all()  # noqa: F821
env.cr.commit()  # noqa: F821
profiler.disable()
print(f'profiled call: {time.perf_counter() - t0:.3f} s, {env.cr.sql_log_count - queries_before} queries')  # noqa: F821
if out:
    profiler.dump_stats(out)
stream = io.StringIO()
stats = pstats.Stats(profiler, stream=stream)
stats.sort_stats('cumulative').print_stats(45)
stats.sort_stats('tottime').print_stats(25)
print(stream.getvalue())
