import bisect

from odoo import api, models
from odoo.tools.date_utils import localized


class MrpWorkcenterProductivity(models.Model):
    _inherit = 'mrp.workcenter.productivity'

    # Time logs are looked up by work center and time on every posted batch: Odoo's
    # working_state compute (date_end IS NULL), the downtime handler's overlap window
    # (date_end > start, or open) and the interval just before it (latest date_start). With
    # only Odoo's index on workcenter_id each of those read the work center's whole history
    # (~10 ms per query per work center at ~18,000 time logs, growing with every event).
    _plant_bridge_workcenter_end_idx = models.Index('(workcenter_id, date_end)')
    _plant_bridge_workcenter_start_idx = models.Index('(workcenter_id, date_start)')

    @api.depends('date_end', 'date_start')
    def _compute_duration(self):
        """Batch version of Odoo's duration compute, same result.

        Odoo computes each time log's duration on its own (`_convert_to_duration` ->
        `_get_work_days_data_batch`: two calendar queries and an interval computation per
        record), which is most of the cost of creating downtime in bulk (profiled: ~75% of a
        1,000-event post). Those hours are a sum of work-interval lengths, so loading a work
        center's work intervals once over the range of all its logs and clipping each log to
        them gives the same figure (tests/test_downtime.py compares it with Odoo's compute).
        The context key `plant_bridge_stock_duration` restores Odoo's own method.
        """
        if self.env.context.get('plant_bridge_stock_duration') or len(self) < 2:
            return super()._compute_duration()
        batch = self.filtered(lambda p: p.date_start and p.date_end and p.workcenter_id.resource_calendar_id
                              and p.loss_id.loss_type not in ('productive', 'performance'))
        if rest := self - batch:
            super(MrpWorkcenterProductivity, rest)._compute_duration()
        for workcenter, records in batch.grouped('workcenter_id').items():
            spans = [(localized(p.date_start.replace(microsecond=0)), localized(p.date_end.replace(microsecond=0)), p)
                     for p in records]
            resource = workcenter.resource_id
            intervals = workcenter.resource_calendar_id._work_intervals_batch(
                min(s[0] for s in spans), max(s[1] for s in spans), resource)[resource.id]
            work = sorted((start, stop) for start, stop, _meta in intervals)
            work_starts = [start for start, _stop in work]
            for start, end, record in spans:
                seconds = 0.0
                index = max(bisect.bisect_right(work_starts, start) - 1, 0)
                while index < len(work) and work[index][0] < end:
                    seconds += max((min(work[index][1], end) - max(work[index][0], start)).total_seconds(), 0.0)
                    index += 1
                record.duration = round(max(0.0, seconds / 60.0), 2)
