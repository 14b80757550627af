from datetime import datetime, timedelta

import pytz

from odoo import api, fields, models

#: Messages that failed in Odoo or in the sidecar, whatever became of them afterwards.
FAILED_STATES = ('rejected', 'discarded')
GRANULARITIES = {'hour': timedelta(hours=1), 'day': timedelta(days=1)}


class PlantBridgeSite(models.Model):
    _inherit = 'plant_bridge.site'

    @api.model
    def read_plants_overview(self, date_from, date_to, granularity='day', top=3):
        """The Plants screen: per site the user may see (record rules, no sudo), over
        [`date_from`, `date_to`) (ISO-8601): throughput, failure rate and lag from the sidecars'
        metric snapshots, open exceptions, and the error codes of the messages that failed, in
        total (the `top` most frequent) and per `granularity` bucket ('hour' or 'day', in the
        user's time zone): each plant's own error pattern over time.

        Aggregated in the database with `_read_group`, so twenty plants cost a handful of
        queries, not a read of every snapshot."""
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {sorted(GRANULARITIES)}")
        start, end = _utc(date_from), _utc(date_to)
        # buckets in the user's time zone, the same for the labels and for `_read_group`
        env = self.with_context(tz=self.env.context.get('tz') or self.env.user.tz or 'UTC').env
        sites = env['plant_bridge.site'].search([])
        hours = max((end - start).total_seconds() / 3600, 1 / 60)
        window = [('site_id', 'in', sites.ids)]
        Snapshot = env['plant_bridge.metric.snapshot']
        Message = env['plant_bridge.message']

        # site totals only: snapshots of one source (a `connector`) repeat part of them
        snapshots = [*window, ('at', '>=', start), ('at', '<', end), ('connector', '=', False)]
        totals = {site: row for site, *row in Snapshot._read_group(
            snapshots, ['site_id'],
            ['received:sum', 'applied:sum', 'rejected:sum', 'latency_p95:max',
             'oldest_pending_age:max', 'at:max'])}
        # gauges now: the latest heartbeat of each sidecar in the window
        latest_ids = [last_id for __, last_id in Snapshot._read_group(snapshots, ['sidecar_id'], ['id:max'])]
        gauges = {}
        for snapshot in Snapshot.browse(latest_ids):
            lag, depth = gauges.get(snapshot.site_id, (0.0, 0))
            gauges[snapshot.site_id] = (max(lag, snapshot.oldest_pending_age), depth + snapshot.outbox_depth)

        open_exceptions = dict(Message._read_group([*window, ('state', '=', 'rejected')], ['site_id'], ['__count']))
        sidecars = dict(env['plant_bridge.sidecar']._read_group(window, ['site_id'], ['__count']))
        stale = dict(env['plant_bridge.sidecar']._read_group(
            [*window, ('is_stale', '=', True)], ['site_id'], ['__count']))

        failed = [*window, ('state', 'in', FAILED_STATES), ('error_code', '!=', False),
                  ('create_date', '>=', start), ('create_date', '<', end)]
        codes = {}
        for site, code, count in Message._read_group(failed, ['site_id', 'error_code'], ['__count']):
            codes.setdefault(site, {})[code] = count
        buckets = sites._overview_buckets(start, end, granularity)
        index = {label: i for i, label in enumerate(buckets)}
        series = {}
        for site, code, at, count in Message._read_group(
                failed, ['site_id', 'error_code', f'create_date:{granularity}'], ['__count']):
            label = _bucket_label(at, granularity)
            if label in index:
                series.setdefault(site, {}).setdefault(code, [0] * len(buckets))[index[label]] += count

        rows = []
        for site in sites:
            received, applied, rejected, p95, worst_lag, last_at = totals.get(site, (0, 0, 0, 0.0, 0.0, False))
            lag, depth = gauges.get(site, (0.0, 0))
            site_codes = sorted(codes.get(site, {}).items(), key=lambda item: (-item[1], item[0]))
            rows.append({
                'id': site.id,
                'name': site.name,
                'code': site.code,
                'timezone': site.timezone,
                'received': received,
                'applied': applied,
                'rejected': rejected,
                'throughput': applied / hours,
                'failure_rate': rejected / (applied + rejected) if applied + rejected else 0.0,
                'latency_p95': p95,
                'lag': lag,
                'worst_lag': worst_lag,
                'outbox_depth': depth,
                'last_at': fields.Datetime.to_string(last_at) if last_at else False,
                'sidecars': sidecars.get(site, 0),
                'sidecars_stale': stale.get(site, 0),
                'open_exceptions': open_exceptions.get(site, 0),
                'failed': sum(count for __, count in site_codes),
                'top_errors': [{'code': code, 'count': count} for code, count in site_codes[:top]],
                'errors_over_time': [
                    {'code': code, 'counts': series.get(site, {}).get(code, [0] * len(buckets))}
                    for code, __ in site_codes[:top]],
            })
        return {
            'granularity': granularity,
            'buckets': buckets,
            'sites': rows,
            'total': _total(rows, hours),
        }

    @api.model
    def _overview_buckets(self, start, end, granularity):
        """Labels of the `granularity` buckets that cover [start, end) in the user's time zone,
        as `_read_group` truncates them."""
        tz = pytz.timezone(self.env.context.get('tz') or 'UTC')
        local = pytz.utc.localize(start).astimezone(tz).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        if granularity == 'day':
            local = local.replace(hour=0)
        last = pytz.utc.localize(end).astimezone(tz).replace(tzinfo=None)
        labels = []
        while local < last:
            labels.append(_bucket_label(local, granularity))
            local += GRANULARITIES[granularity]
        return labels


def _utc(value):
    """A naive UTC datetime from an ISO-8601 string; without an offset it is UTC already."""
    parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    return parsed.astimezone(pytz.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def _bucket_label(at, granularity):
    return at.strftime('%Y-%m-%d' if granularity == 'day' else '%Y-%m-%d %H:00')


def _total(rows, hours):
    applied = sum(r['applied'] for r in rows)
    rejected = sum(r['rejected'] for r in rows)
    return {
        'sites': len(rows),
        'received': sum(r['received'] for r in rows),
        'applied': applied,
        'rejected': rejected,
        'throughput': applied / hours,
        'failure_rate': rejected / (applied + rejected) if applied + rejected else 0.0,
        'lag': max((r['lag'] for r in rows), default=0.0),
        'open_exceptions': sum(r['open_exceptions'] for r in rows),
        'sidecars': sum(r['sidecars'] for r in rows),
        'sidecars_stale': sum(r['sidecars_stale'] for r in rows),
    }
