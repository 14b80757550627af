from datetime import timedelta

from odoo import api, fields, models


class PlantBridgeSidecar(models.Model):
    """A running sidecar, registered and kept fresh by its heartbeat."""
    _name = 'plant_bridge.sidecar'
    _description = 'Plant Bridge Sidecar'
    _order = 'site_id, name'

    name = fields.Char(required=True, readonly=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True, readonly=True)
    hostname = fields.Char(readonly=True)
    version = fields.Char(readonly=True)
    started_at = fields.Datetime(readonly=True)
    last_heartbeat = fields.Datetime(readonly=True, index=True)
    config_revision = fields.Integer('Applied Config Revision', readonly=True)
    config_current = fields.Boolean(compute='_compute_config_current',
                                    help="The sidecar runs the current configuration revision.")
    is_stale = fields.Boolean('Stale', readonly=True, index=True,
                              help="No heartbeat within the stale delay (set by a scheduled action).")
    snapshot_ids = fields.One2many('plant_bridge.metric.snapshot', 'sidecar_id')

    _name_site_unique = models.Constraint('unique(site_id, name)', 'Sidecar names must be unique per site.')

    def _compute_config_current(self):
        current = self.env['plant_bridge.config.revision']._current()
        for sidecar in self:
            sidecar.config_current = sidecar.config_revision == current

    @api.model
    def _cron_flag_stale(self):
        """Flag sidecars without a heartbeat for `plant_bridge.stale_after_minutes` (default 5)."""
        minutes = int(self.env['ir.config_parameter'].sudo().get_param('plant_bridge.stale_after_minutes', 5))
        limit = fields.Datetime.now() - timedelta(minutes=minutes)
        stale = self.search([('is_stale', '=', False), '|', ('last_heartbeat', '=', False),
                             ('last_heartbeat', '<', limit)])
        stale.is_stale = True
        return stale
