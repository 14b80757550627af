import bisect
from datetime import datetime

from ..exceptions import EventRejected
from .base import DOWNTIME_LOSS_TYPES, Handler


def note_interval(cache, interval):
    """Tell this batch's downtime overlap rules about an interval written outside the downtime
    handler (a machine's `down` opens one, its next status closes it): only a work center
    whose intervals the batch already loaded needs it, a later load reads it from the database."""
    state = cache.get('downtime_intervals', {}).get(interval.workcenter_id.id)
    if state is None:
        return
    state['ids'].add(interval.id)
    state['open'].pop(interval.id, None)
    if interval.date_end:
        bisect.insort(state['intervals'], (interval.date_start, interval.date_end))
    else:
        state['open'][interval.id] = interval.date_start


class DowntimeHandler(Handler):
    """`downtime`: a closed `mrp.workcenter.productivity` interval with its loss reason.

    Batchable: events are validated one by one (work center, a downtime loss by name then by
    loss type, no overlap with recorded or earlier downtime of the same work center) and the
    intervals of a batch are created with one `create(vals_list)`.

    An interval still open (a Block entered in Odoo, or a machine's automatic interval) that
    the plant's downtime overlaps is settled by the site's system-of-record matrix for machine
    states: the plant owns them - the plant's interval takes its time: the open one keeps what
    came before (a closed copy), continues after the plant's interval, and the work center's
    chatter says so; Odoo owns them - `state_conflict` naming both intervals.
    """
    event_type = 'downtime'
    required = ('workcenter', 'reason', 'start', 'end')
    batchable = True

    def object_key(self, event):
        return ('workcenter', event.get('workcenter'))

    def prefetch(self, items):
        """Per work center, the span from the earliest start to the latest end of this batch's
        events: only recorded downtime intersecting it can clash with them, so only that is
        loaded (prefetch_intervals). Loading a work center's whole history instead made each
        batch slower than the one before (profiled: ~0.1-0.2 s per 1,000 events once a work
        center had ~15,000 intervals). Events with bad fields are left to prepare()."""
        spans = self.cache.setdefault('downtime_spans', {})
        for item in items:
            event = item.event
            try:
                workcenter = self.find_workcenter(item.site.company_id, self.get_str(event, 'workcenter'))
                start, end = self.get_datetime(event, 'start'), self.get_datetime(event, 'end')
            except EventRejected:
                continue
            if workcenter and start < end:
                low, high = spans.get(workcenter.id, (start, end))
                spans[workcenter.id] = (min(low, start), max(high, end))

    def prefetch_intervals(self, workcenter, start, end):
        """Recorded downtime intervals of a work center, sorted by start, as prepare() needs them
        around [start, end]: loaded once per batch over the span prefetch() found (or over the
        whole history without one), and completed over [start, end] if that is outside it.
        Intervals prepared by this batch are added to the same list by prepare().

        A window holds the intervals that intersect it plus the last one that starts before
        it: prepare() compares an event with its neighbours in this list, and that interval
        is the neighbour the whole history would have given the window's first event.
        """
        state = self.cache.setdefault('downtime_intervals', {}).setdefault(
            workcenter.id, {'windows': [], 'ids': set(), 'intervals': [], 'open': {}})
        if not any(low <= start and end <= high for low, high in state['windows']):
            Productivity = self.env['mrp.workcenter.productivity']
            domain = [('workcenter_id', '=', workcenter.id), ('loss_type', 'in', DOWNTIME_LOSS_TYPES),
                      ('id', 'not in', list(state['ids']))]
            span = self.cache.get('downtime_spans', {}).get(workcenter.id)
            if span or state['windows']:
                low, high = span if span and span[0] <= start and end <= span[1] else (start, end)
                rows = Productivity.search_fetch(domain + [
                    ('date_start', '<', high), '|', ('date_end', '=', False), ('date_end', '>', low),
                ], ['date_start', 'date_end'])
                rows |= Productivity.search_fetch(domain + [('date_start', '<', low)], ['date_start', 'date_end'],
                                                  order='date_start desc, date_end desc', limit=1)
            else:
                low, high = datetime.min, datetime.max
                rows = Productivity.search_fetch(domain, ['date_start', 'date_end'])
            for row in rows:
                if row.date_end:
                    bisect.insort(state['intervals'], (row.date_start, row.date_end))
                else:
                    state['open'][row.id] = row.date_start
            state['ids'].update(rows.ids)
            state['windows'].append((low, high))
        return state

    def prepare(self, item):
        event = item.event
        workcenter = self.resolve_workcenter(item, self.get_str(event, 'workcenter'))
        loss = self.resolve_downtime_loss(self.get_str(event, 'reason'))
        start = self.get_datetime(event, 'start')
        end = self.get_datetime(event, 'end')
        if end <= start:
            raise EventRejected('schema', "'end' must be after 'start'")
        self.check_period(workcenter.company_id or item.site.company_id, start)
        state = self.prefetch_intervals(workcenter, start, end)
        intervals = state['intervals']
        position = bisect.bisect_left(intervals, (start, end))
        before = intervals[position - 1] if position else None
        after = intervals[position] if position < len(intervals) else None
        if (before and before[1] > start) or (after and after[0] < end):
            clash = before if before and before[1] > start else after
            raise EventRejected('state_conflict', f"Downtime overlaps {clash[0]} - {clash[1]} on {workcenter.name}")
        open_ids = sorted(open_id for open_id, since in state['open'].items() if since < end)
        if open_ids:
            self._check_machine_states_owner(item, workcenter, start, end, open_ids)
            for open_id in open_ids:
                if state['open'][open_id] < start:
                    bisect.insort(intervals, (state['open'][open_id], start))
                state['open'][open_id] = end
        intervals.insert(bisect.bisect_left(intervals, (start, end)), (start, end))
        description = event.get('description')
        return {
            '_open_ids': open_ids,
            'workcenter_id': workcenter.id,
            'company_id': workcenter.company_id.id or item.site.company_id.id,
            'loss_id': loss.id,
            'date_start': start,
            'date_end': end,
            'description': str(description) if description else False,
        }

    def apply(self, item):
        return self.create_batch([item] if item.vals else [self._prepared(item)])[0]

    def _prepared(self, item):
        item.vals = self.prepare(item)
        return item

    def _check_machine_states_owner(self, item, workcenter, start, end, open_ids):
        if item.site._sor_owner('machine_states') == 'plant':
            return
        opened = self.env['mrp.workcenter.productivity'].browse(open_ids)
        raise EventRejected('state_conflict', (
            f"Downtime {start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M} UTC on {workcenter.name} overlaps the open "
            + ', '.join(f"'{log.loss_id.name}' since {log.date_start:%Y-%m-%d %H:%M} UTC" for log in opened)
            + f"; Odoo owns machine states at site {item.site.code}: close or change it in Odoo, then replay"))

    def create_batch(self, items):
        # one create for the batch: durations are computed for all of it at once
        # (models/mrp_workcenter_productivity.py)
        for item in items:
            self._make_room(item.vals)
        return list(self.env['mrp.workcenter.productivity'].create([
            {name: value for name, value in item.vals.items() if name != '_open_ids'} for item in items]))

    def _make_room(self, vals):
        """The plant's interval takes its time from the intervals still open over it: what came
        before stays as a closed copy, the open interval continues after the plant's."""
        start, end = vals['date_start'], vals['date_end']
        for interval in self.env['mrp.workcenter.productivity'].browse(vals['_open_ids']):
            if interval.date_end or interval.date_start >= end:
                continue
            since = interval.date_start
            if since < start:
                interval.copy({'date_start': since, 'date_end': start})
            interval.date_start = end
            interval.workcenter_id.message_post(body=self.env._(
                "Plant downtime %(start)s - %(end)s UTC (%(reason)s) took the place of the open interval "
                "'%(loss)s' there (open since %(since)s UTC)%(kept)s; it continues from %(end)s UTC.",
                start=start, end=end, reason=self.env['mrp.workcenter.productivity.loss'].browse(vals['loss_id']).name,
                loss=interval.loss_id.name, since=since,
                kept=self.env._(", closed at %s UTC", start) if since < start else ''))
