from datetime import timedelta

from odoo import api, fields, models

#: Run history older than this is removed by the autovacuum.
RUN_RETENTION_DAYS = 90


class PlantBridgeScheduleRun(models.Model):
    """One run of a scheduled legacy pull, as reported by the sidecar that ran it
    (`plant_bridge.api.report_runs`). `key` is unique: a report sent again records nothing twice.
    """
    _name = 'plant_bridge.schedule.run'
    _description = 'Plant Bridge Schedule Run'
    _order = 'started_at desc, id desc'
    _rec_name = 'started_at'

    key = fields.Char(required=True, readonly=True)
    schedule_id = fields.Many2one('plant_bridge.schedule', required=True, readonly=True, index=True,
                                  ondelete='cascade')
    site_id = fields.Many2one(related='schedule_id.site_id', store=True, index=True)
    connector_id = fields.Many2one(related='schedule_id.connector_id')
    sidecar = fields.Char(readonly=True)
    started_at = fields.Datetime(required=True, readonly=True)
    ended_at = fields.Datetime(readonly=True)
    duration = fields.Float('Duration (s)', compute='_compute_duration', store=True, digits=(16, 3))
    state = fields.Selection([('done', 'Done'), ('failed', 'Failed')], required=True, readonly=True)
    rows_read = fields.Integer('Rows Read', readonly=True,
                               help="File lines, table rows or HTTP items read by the run.")
    rows_accepted = fields.Integer('New Events', readonly=True)
    rows_duplicate = fields.Integer('Duplicates', readonly=True,
                                    help="Rows read again (their events were already stored).")
    rows_rejected = fields.Integer('Rejected', readonly=True,
                                   help="Rows (or files) that became dead letters in the exception queue.")
    skipped = fields.Integer('Skipped Ticks', readonly=True,
                             help="Ticks of the schedule skipped before this run because the previous "
                                  "run was still going (runs of one schedule never overlap).")
    error_code = fields.Char(readonly=True)
    message = fields.Text(readonly=True)

    _key_unique = models.Constraint('unique(key)', 'A schedule run is reported once.')

    @api.depends('started_at', 'ended_at')
    def _compute_duration(self):
        for run in self:
            if run.started_at and run.ended_at:
                run.duration = (run.ended_at - run.started_at).total_seconds()
            else:
                run.duration = 0.0

    @api.autovacuum
    def _gc_old_runs(self):
        cutoff = fields.Datetime.now() - timedelta(days=RUN_RETENTION_DAYS)
        self.sudo().search([('started_at', '<', cutoff)], limit=10000).unlink()
