#!/usr/bin/env python3
"""JSON-2 side of scripts/odoo-bench-post.sh (standard library only).

Posts N downtime events per call to POST /json/2/plant_bridge.api/post_events as the connector
user, ROUNDS times (plus a warm-up), then the last batch again (all duplicates); compares the
median rate with the in-process ORM figures and writes the benchmark JSON.
"""
import argparse
import json
import os
import statistics
import threading
import time
import urllib.request
from datetime import datetime, timedelta


def post(args, events):
    body = json.dumps({'events': events, 'sidecar': 'bench'}).encode()
    request = urllib.request.Request(
        f'{args.url}/json/2/plant_bridge.api/post_events', data=body, method='POST',
        headers={'Authorization': f'bearer {args.key}', 'X-Odoo-Database': args.db,
                 'Content-Type': 'application/json; charset=utf-8'})
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        results = json.loads(response.read())
    return results, time.perf_counter() - t0


def events(run, offset_days, count):
    start = datetime(2032, 1, 1) + timedelta(days=offset_days)
    return [{
        'id': f'bench-{run}-{offset_days}-{i}', 'type': 'downtime', 'site': 'main', 'source': 'sim',
        'occurredAt': (start + timedelta(minutes=10 * i + 5)).isoformat() + '+00:00',
        'workcenter': 'Assembly 2', 'reason': 'Equipment Failure', 'description': 'json2-bench',
        'start': (start + timedelta(minutes=10 * i)).isoformat() + '+00:00',
        'end': (start + timedelta(minutes=10 * i + 5)).isoformat() + '+00:00',
    } for i in range(count)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--db', required=True)
    parser.add_argument('--key', required=True)
    parser.add_argument('--events', type=int, default=1000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--orm', required=True, help='JSON written by odoo_bench_orm.py')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    run = datetime.now().strftime('%Y%m%d%H%M%S')

    post(args, events(run, 0, 20))  # warm-up
    rates, batch = [], None
    for r in range(args.rounds):
        batch = events(run, 10 + 10 * r, args.events)
        results, seconds = post(args, batch)
        statuses = {result['status'] for result in results}
        if len(results) != args.events or statuses != {'applied'}:
            raise SystemExit(f'unexpected results: {len(results)} results, statuses {statuses}')
        rates.append(args.events / seconds)
    results, seconds = post(args, batch)
    if {result['status'] for result in results} != {'duplicate'}:
        raise SystemExit('a repeated batch must answer duplicate for every event')
    duplicate_rate = args.events / seconds

    # two identical batches at once, over HTTP: one call posts, the other answers duplicate
    # (its insert fails on the unique key, Odoo's JSON-2 retry reruns it)
    same = events(run, 10 + 10 * args.rounds, 300)
    answers = {}
    threads = [threading.Thread(target=lambda n=n: answers.__setitem__(n, post(args, same)[0])) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent = sorted('/'.join(sorted({r['status'] for r in answer})) for answer in answers.values())
    if concurrent != ['applied', 'duplicate']:
        raise SystemExit(f'concurrent identical batches: expected one applied and one duplicate, got {concurrent}')

    with open(args.orm) as f:
        orm = json.load(f)
    value, baseline = statistics.median(rates), orm['batch_median']
    result = {
        'name': 'odoo-post-downtime',
        'unit': 'events/s',
        'value': round(value, 1),
        'baseline': round(baseline, 1),
        'baselineName': 'same mrp.workcenter.productivity rows by ORM create(vals_list) in-process '
                        '(odoo-bin shell), Odoo stock duration compute',
        'ratio': round(value / baseline, 3),
        'params': {
            'events_per_call': args.events,
            'rounds': args.rounds,
            'json2_rates': [round(x, 1) for x in rates],
            'orm_batch_rates': [round(x, 1) for x in orm['batch_rates']],
            'orm_loop_rate': round(orm['loop_rate'], 1),
            'orm_batch_rate_with_batch_duration_compute': round(orm['batch_compute_rate'], 1),
            'json2_vs_orm_with_batch_duration_compute': round(value / orm['batch_compute_rate'], 3),
            'json2_vs_orm_loop': round(value / orm['loop_rate'], 3),
            'json2_duplicate_batch_rate': round(duplicate_rate, 1),
            'concurrent_identical_batches_of_300': concurrent,
            'workcenter': 'Assembly 2 (mrp demo)',
            'server': 'odoo-bin --workers=0, one request at a time',
            'cpus': os.cpu_count(),
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
        f.write('\n')
    print(f"JSON-2 post_events: {value:.0f} events/s (rounds {[round(x) for x in rates]}), "
          f"duplicates {duplicate_rate:.0f} events/s")
    print(f"ORM create(vals_list), stock Odoo: {baseline:.0f} records/s; ORM loop: {orm['loop_rate']:.0f} records/s; "
          f"ORM create(vals_list) with plant_bridge's batch duration compute: {orm['batch_compute_rate']:.0f} records/s")
    print(f"two identical 300-event batches posted at once over JSON-2: {concurrent}")
    print(f"ratio JSON-2 / ORM batch: {value / baseline:.2f}  (JSON-2 / ORM loop: {value / orm['loop_rate']:.2f})")
    print(f"wrote {args.out}")


if __name__ == '__main__':
    main()
