import bisect

from ..exceptions import EventRejected
from .base import Handler

#: loss types that are downtime (not running time) - the intervals that must not overlap
DOWNTIME_LOSS_TYPES = ('availability', 'quality')


class DowntimeHandler(Handler):
    """`downtime`: a closed `mrp.workcenter.productivity` interval with its loss reason.

    Batchable: events are validated one by one (work center, loss by name then by loss type,
    no overlap with recorded or earlier downtime of the same work center) and the intervals
    of a batch are created with one `create(vals_list)`.
    """
    event_type = 'downtime'
    required = ('workcenter', 'reason', 'start', 'end')
    batchable = True

    def object_key(self, event):
        return ('workcenter', event.get('workcenter'))

    def prefetch_intervals(self, workcenter):
        """Recorded downtime intervals of a work center, sorted by start (loaded once per batch)."""
        intervals = self.cache.setdefault('downtime_intervals', {})
        if workcenter.id not in intervals:
            rows = self.env['mrp.workcenter.productivity'].search_fetch([
                ('workcenter_id', '=', workcenter.id), ('loss_type', 'in', DOWNTIME_LOSS_TYPES),
            ], ['date_start', 'date_end'], order='date_start')
            intervals[workcenter.id] = sorted(
                (row.date_start, row.date_end or row.date_start.max) for row in rows)
        return intervals[workcenter.id]

    def resolve_loss(self, reason):
        def search():
            Loss = self.env['mrp.workcenter.productivity.loss']
            return (Loss.search([('name', '=ilike', reason)], limit=1)
                    or Loss.search([('loss_type', '=', reason.lower())], limit=1))
        loss = self._cached('loss', reason, search)
        if not loss:
            raise EventRejected('schema', f"No loss reason or loss type '{reason}'")
        return loss

    def prepare(self, item):
        event = item.event
        workcenter = self.resolve_workcenter(item, self.get_str(event, 'workcenter'))
        loss = self.resolve_loss(self.get_str(event, 'reason'))
        start = self.get_datetime(event, 'start')
        end = self.get_datetime(event, 'end')
        if end <= start:
            raise EventRejected('schema', "'end' must be after 'start'")
        intervals = self.prefetch_intervals(workcenter)
        position = bisect.bisect_left(intervals, (start, end))
        before = intervals[position - 1] if position else None
        after = intervals[position] if position < len(intervals) else None
        if (before and before[1] > start) or (after and after[0] < end):
            clash = before if before and before[1] > start else after
            raise EventRejected('state_conflict', f"Downtime overlaps {clash[0]} - {clash[1]} on {workcenter.name}")
        intervals.insert(position, (start, end))
        description = event.get('description')
        return {
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

    def create_batch(self, items):
        # one create for the batch: durations are computed for all of it at once
        # (models/mrp_workcenter_productivity.py)
        return list(self.env['mrp.workcenter.productivity'].create([item.vals for item in items]))
