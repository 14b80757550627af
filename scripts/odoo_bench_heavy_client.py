#!/usr/bin/env python3
"""JSON-2 side of scripts/odoo-bench-heavy.sh (standard library only).

For every heavy operation of the plan (scripts/odoo_bench_heavy.py setup), per round:
  json2 - the steps as canonical events, one `plant_bridge.api/post_events` call per round, by the
          connector user (every result must be `applied`);
  naive - a naive per-event JSON-2 connector: for each event, the lookups by name and Odoo's
          public methods it needs, one HTTP call (one transaction) each, as an integration user;
and compares the medians with Odoo's in-process ceiling (odoo_bench_heavy.py ceiling) of the same
run. The mixed stream (per minute of plant time: 20 machines' states and counters, 100 production
and 100 consumption reports, 10 scraps, 5 downtime intervals) is measured flat out (one call per
minute of traffic) and then at the plant's pace times SPEED: every second's events arrive on
time, a posting loop posts what has arrived (as the sidecar's posting worker does); the lag of
each event is the time from its arrival to the answer of the call that applied it.
First call (measure): the contenders, figures to OUT; second (--report): with the ceiling's figures,
one JSON per operation into OUT_DIR (odoo-heavy-<op>.json), and the ratios printed.
"""
import argparse
import json
import os
import statistics
import subprocess
import time
import urllib.error
import urllib.request


class Odoo:
    def __init__(self, url, db, key):
        self.url, self.db, self.key = url, db, key
        self.calls = 0

    def call(self, model, method, **body):
        self.calls += 1
        request = urllib.request.Request(
            f'{self.url}/json/2/{model}/{method}', data=json.dumps(body).encode(), method='POST',
            headers={'Authorization': f'bearer {self.key}', 'X-Odoo-Database': self.db,
                     'Content-Type': 'application/json; charset=utf-8'})
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise SystemExit(f'{model}.{method} failed: {e.code} {e.read()[:2000]!r}') from None


def event_of(step, key):
    event = {k: v for k, v in step.items() if k != 'at'}
    event.update(id=key, site='main', source='sim', occurredAt=step['at'], receivedAt=step['at'])
    return event


def post(odoo, steps, tag):
    events = [event_of(step, f'{tag}-{i}') for i, step in enumerate(steps)]
    results = odoo.call('plant_bridge.api', 'post_events', events=events, sidecar='bench')
    bad = [r for r in results if r['status'] != 'applied']
    if bad:
        raise SystemExit(f'post_events: {len(bad)} events not applied, first: {bad[0]}')
    return results


class Naive:
    """One event at a time, each lookup and each action its own JSON-2 call (no cache, no batch,
    no idempotency: what a connector written against Odoo's public methods does)."""

    def __init__(self, odoo):
        self.odoo = odoo

    def one(self, model, domain, fields=('id',)):
        rows = self.odoo.call(model, 'search_read', domain=domain, fields=list(fields), limit=1)
        if not rows:
            raise SystemExit(f'naive: nothing in {model} for {domain}')
        return rows[0]

    def run(self, step):
        getattr(self, step['type'])(step)

    def production(self, step):
        mo = self.one('mrp.production', [['name', '=', step['order']]], ('id', 'product_id', 'lot_producing_ids',
                                                                           'qty_producing'))
        if step.get('lot'):
            product = self.one('product.product', [['id', '=', mo['product_id'][0]]], ('id', 'tracking'))
            lot = self.one('stock.lot', [['name', '=', step['lot']], ['product_id', '=', product['id']]])
            if product['tracking'] == 'serial':
                vals = {'lot_producing_ids': [[4, lot['id']]], 'qty_producing': len(mo['lot_producing_ids']) + 1}
            else:
                vals = {'lot_producing_ids': [[6, 0, [lot['id']]]],
                        'qty_producing': mo['qty_producing'] + step['quantity']}
        else:
            vals = {'qty_producing': mo['qty_producing'] + step['quantity']}
        self.odoo.call('mrp.production', 'write', ids=[mo['id']], vals=vals)
        if step.get('finish'):
            self.odoo.call('mrp.production', 'button_mark_done', ids=[mo['id']],
                           context={'skip_consumption': True, 'skip_backorder': True, 'skip_redirection': True})

    def consumption(self, step):
        mo = self.one('mrp.production', [['name', '=', step['order']]])
        move = self.one('stock.move', [['raw_material_production_id', '=', mo['id']],
                                       ['product_id.default_code', '=', step['product']]],
                        ('id', 'product_id', 'product_uom', 'location_id', 'location_dest_id'))
        lot = self.one('stock.lot', [['name', '=', step['lot']], ['product_id', '=', move['product_id'][0]]])
        self.odoo.call('stock.move.line', 'create', vals_list=[{
            'move_id': move['id'], 'product_id': move['product_id'][0], 'lot_id': lot['id'],
            'quantity': step['quantity'], 'product_uom_id': move['product_uom'][0],
            'location_id': move['location_id'][0], 'location_dest_id': move['location_dest_id'][0],
        }])
        self.odoo.call('stock.move', 'write', ids=[move['id']], vals={'picked': True})

    def scrap(self, step):
        mo = self.one('mrp.production', [['name', '=', step['order']]], ('id', 'location_src_id', 'company_id'))
        product = self.one('product.product', [['default_code', '=', step['product']]], ('id', 'uom_id'))
        scrap = self.odoo.call('stock.scrap', 'create', vals_list=[{
            'product_id': product['id'], 'product_uom_id': product['uom_id'][0], 'scrap_qty': step['quantity'],
            'location_id': mo['location_src_id'][0], 'production_id': mo['id'], 'company_id': mo['company_id'][0],
        }])
        self.odoo.call('stock.scrap', 'action_validate', ids=scrap)

    def workorder_status(self, step):
        mo = self.one('mrp.production', [['name', '=', step['order']]])
        wo = self.one('mrp.workorder', [['production_id', '=', mo['id']], ['name', '=', step['operation']]])
        method = 'button_start' if step['status'] == 'started' else 'button_finish'
        self.odoo.call('mrp.workorder', method, ids=[wo['id']])

    def machine_status(self, step):
        wc = self.one('mrp.workcenter', [['code', '=', step['workcenter']]])
        self.odoo.call('mrp.workcenter', 'write', ids=[wc['id']], vals={
            'plant_bridge_status': step['status'], 'plant_bridge_status_at': step['at'][:19].replace('T', ' '),
            'plant_bridge_counters': json.dumps(step['counters'], sort_keys=True)})

    def downtime(self, step):
        wc = self.one('mrp.workcenter', [['code', '=', step['workcenter']]], ('id', 'company_id'))
        loss = self.one('mrp.workcenter.productivity.loss', [['name', '=', step['reason']]])
        self.odoo.call('mrp.workcenter.productivity', 'create', vals_list=[{
            'workcenter_id': wc['id'], 'loss_id': loss['id'], 'company_id': wc['company_id'][0],
            'date_start': step['start'][:19].replace('T', ' '), 'date_end': step['end'][:19].replace('T', ' '),
        }])


class Cpu:
    """CPU seconds (user + system) the Odoo server and its PostgreSQL backends spend: a figure the
    other loads of a shared machine barely move, unlike wall-clock rates."""

    def __init__(self, server_pid, db):
        self.server_pid, self.db = server_pid, db

    def snapshot(self):
        if not self.server_pid:
            return {}
        query = f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.db}'"
        out = subprocess.run(['psql', '-qtAX', '-U', os.environ.get('PG_SUPERUSER', 'postgres'), '-d', 'postgres',
                              '-c', query], capture_output=True, text=True, check=False).stdout
        pids = [self.server_pid] + [int(line) for line in out.split() if line.strip().isdigit()]
        tick, seconds = os.sysconf('SC_CLK_TCK'), {}
        for pid in pids:
            try:
                with open(f'/proc/{pid}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
                seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
        return seconds

    @staticmethod
    def spent(before, after):
        return sum(after[p] - before.get(p, 0) for p in after)


def timed_rate(fn, count):
    t0 = time.perf_counter()
    fn()
    return count / (time.perf_counter() - t0)


def paced(odoo, minutes, speed, tag):
    """The stream at the plant's pace x speed: each second's events arrive on time; the loop
    posts everything that has arrived, waits for the answer, and again. Returns the lags."""
    arrivals = []  # (arrival offset in wall seconds, step)
    for m, steps in enumerate(minutes):
        for step in steps:
            second = int(step['at'][17:19])
            arrivals.append(((60 * m + second) / speed, step))
    arrivals.sort(key=lambda a: a[0])
    lags, calls, per_minute = [], 0, {}
    start, i = time.perf_counter(), 0
    while i < len(arrivals):
        now = time.perf_counter() - start
        if arrivals[i][0] > now:
            time.sleep(arrivals[i][0] - now)
            continue
        j = i
        while j < len(arrivals) and arrivals[j][0] <= now:
            j += 1
        batch = arrivals[i:j]
        post(odoo, [step for _, step in batch], f'{tag}-{i}')
        calls += 1
        done = time.perf_counter() - start
        for offset, _ in batch:
            lags.append(done - offset)
            per_minute.setdefault(int(offset * speed // 60), []).append(done - offset)
        i = j
    return lags, calls, {m: max(v) for m, v in sorted(per_minute.items())}


def measure(args):
    with open(args.plan) as f:
        plan = json.load(f)
    odoo, naive_odoo = Odoo(args.url, args.db, args.key), Odoo(args.url, args.db, args.naive_key)
    naive = Naive(naive_odoo)
    only = {name for name in args.only.split(',') if name}
    run = plan['run']
    figures = {}
    cpu = Cpu(args.server_pid, args.db)

    def rates_of(contender, rounds, tag):
        """Round 0 warms the server up (Odoo's caches of that code path), the others count."""
        rates, calls, cpu_per_event = [], 0, []
        for r, steps in enumerate(rounds):
            cpu0 = cpu.snapshot()
            if contender == 'json2':
                rate = timed_rate(lambda: post(odoo, steps, f'h{run}-{tag}-{r}'), len(steps))
            else:
                before = naive_odoo.calls
                rate = timed_rate(lambda: [naive.run(step) for step in steps], len(steps))
                calls = (naive_odoo.calls - before) / len(steps)
            if r:
                rates.append(rate)
                if cpu0:
                    cpu_per_event.append(cpu.spent(cpu0, cpu.snapshot()) / len(steps))
        if contender == 'json2':
            return rates, cpu_per_event
        return rates, calls

    for op, contenders in plan['ops'].items():
        if only and op not in only:
            continue
        json2, json2_cpu = rates_of('json2', contenders['json2'], op)
        naive_rates, naive_calls = rates_of('naive', contenders['naive'], op)
        figures[op] = dict(json2=json2, json2_cpu=json2_cpu, naive=naive_rates, naive_calls=naive_calls,
                           events=len(contenders['json2'][0]))
        print(f'{op}: JSON-2 post_events {[round(x, 1) for x in json2]} events/s, naive {[round(x, 1) for x in naive_rates]}')

    if not only or 'mixed' in only:
        rounds = len(plan['mixed']['ceiling'])
        minutes = plan['mixed']['json2']
        json2, json2_cpu = rates_of('json2', minutes[:rounds], 'mixed')
        # the naive connector warms up on 20 events of its first minute, then posts the first 80 of
        # the second (its first 20 s: every kind of event; a whole minute takes it minutes)
        naive_minutes = plan['mixed']['naive']
        naive_rates, naive_calls = rates_of('naive', [naive_minutes[0][:20], naive_minutes[1][:80]], 'mixed')
        print(f'mixed: JSON-2 post_events {[round(x, 1) for x in json2]} events/s, naive {[round(x, 1) for x in naive_rates]}')
        lags, calls, per_minute = paced(odoo, minutes[rounds:], args.speed, f'h{run}-paced')
        figures['mixed'] = dict(json2=json2, json2_cpu=json2_cpu, naive=naive_rates, naive_calls=naive_calls, events=len(minutes[0]),
                                paced=dict(speed=args.speed, minutes=len(minutes) - rounds, calls=calls,
                                           lag_max=max(lags), lag_p95=sorted(lags)[int(0.95 * (len(lags) - 1))],
                                           lag_max_per_minute=list(per_minute.values())))
        print(f"mixed at {args.speed}x the plant's pace: lag max per minute {[round(x, 2) for x in per_minute.values()]} s")
    with open(args.out, 'w') as f:
        json.dump(figures, f)


def report(args):
    with open(args.report) as f:
        figures = json.load(f)
    ceiling, ceiling_cpu = {}, {}
    for path in args.ceiling:
        with open(path) as f:
            for op, fig in json.load(f).items():
                ceiling.setdefault(op, []).extend(fig['rates'])
                ceiling_cpu.setdefault(op, []).extend(fig.get('cpu_per_event', []))
    os.makedirs(args.out_dir, exist_ok=True)
    for op, fig in figures.items():
        value, baseline = statistics.median(fig['json2']), statistics.median(ceiling[op])
        naive_value = statistics.median(fig['naive'])
        params = {
            'events_per_call': fig['events'],
            'json2_rates': [round(x, 1) for x in fig['json2']],
            'ceiling_rates': [round(x, 1) for x in ceiling[op]],
            'naive_rates': [round(x, 1) for x in fig['naive']],
            'naive_per_event_json2_rate': round(naive_value, 1),
            'naive_calls_per_event': round(fig['naive_calls'], 2),
            'json2_vs_naive': round(value / naive_value, 2),
            'warm_up': 'one round per contender and process, not counted; the ceiling runs half its '
                       'rounds before the JSON-2 contenders and half after',
            'server': 'odoo-bin --workers=0, one request at a time',
            'cpus': os.cpu_count(),
        }
        cpu_ratio = None
        if fig.get('json2_cpu') and ceiling_cpu.get(op):
            # CPU per event: the ceiling's (odoo-bin shell + its backend) / JSON-2's (server + backends)
            cpu_ratio = statistics.median(ceiling_cpu[op]) / statistics.median(fig['json2_cpu'])
            params.update(json2_cpu_ms_per_event=[round(1000 * x, 1) for x in fig['json2_cpu']],
                          ceiling_cpu_ms_per_event=[round(1000 * x, 1) for x in ceiling_cpu[op]],
                          cpu_ratio=round(cpu_ratio, 3))
        if 'paced' in fig:
            params['paced'] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in fig['paced'].items()}
            params['paced']['lag_max_per_minute'] = [round(x, 2) for x in fig['paced']['lag_max_per_minute']]
            params['mix_per_minute'] = {'machine_status': 20, 'production': 100, 'consumption': 100, 'scrap': 10,
                                        'downtime': 5}
        result = {
            'name': f'odoo-heavy-{op}',
            'unit': 'events/s',
            'value': round(value, 1),
            'baseline': round(baseline, 1),
            'baselineName': "Odoo's in-process loop of the same operations (odoo-bin shell, the ORM calls of its "
                            "screens, one commit per round)",
            'ratio': round(value / baseline, 3),
            'params': params,
        }
        with open(os.path.join(args.out_dir, f'odoo-heavy-{op}.json'), 'w') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
        line = (f"odoo-heavy-{op}: JSON-2 post_events {value:.1f} events/s vs Odoo in-process {baseline:.1f} "
                f"(ratio {value / baseline:.2f}); naive per-event JSON-2 {naive_value:.1f} events/s "
                f"(x{value / naive_value:.1f})")
        if cpu_ratio is not None:
            line += f"; CPU per event ratio {cpu_ratio:.2f}"
        if 'paced' in fig:
            p = params['paced']
            line += (f"; at {p['speed']}x the plant's pace: lag max {p['lag_max']} s, p95 {p['lag_p95']} s, "
                     f"max per minute {p['lag_max_per_minute']}")
        print(line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url')
    parser.add_argument('--db')
    parser.add_argument('--key', help='API key of the connector user')
    parser.add_argument('--naive-key', help='API key of the naive connector (an admin)')
    parser.add_argument('--plan')
    parser.add_argument('--speed', type=float, default=2.0)
    parser.add_argument('--server-pid', type=int, help='the Odoo server process (for its CPU time)')
    parser.add_argument('--only', default='', help='comma-separated operations (default: all)')
    parser.add_argument('--out', help='the contenders\' figures (JSON), for --report')
    parser.add_argument('--report', help='the contenders\' figures: compare them with --ceiling')
    parser.add_argument('--ceiling', nargs='+', help='JSON written by odoo_bench_heavy.py ceiling')
    parser.add_argument('--out-dir')
    args = parser.parse_args()
    if args.report:
        report(args)
    else:
        measure(args)


if __name__ == '__main__':
    main()
