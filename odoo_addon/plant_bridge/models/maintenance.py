from odoo import api, fields, models


class MaintenanceEquipment(models.Model):
    """Community 19 has no mrp_maintenance: the work center <-> equipment link is ours."""
    _inherit = 'maintenance.equipment'

    plant_bridge_workcenter_id = fields.Many2one('mrp.workcenter', 'Work Center', index='btree_not_null',
                                                 check_company=True)


class MaintenanceRequest(models.Model):
    _inherit = 'maintenance.request'

    plant_bridge_workcenter_id = fields.Many2one('mrp.workcenter', 'Work Center', index='btree_not_null',
                                                 check_company=True)
    plant_bridge_alarm_count = fields.Integer(
        'Plant Alarms', readonly=True, copy=False,
        help="How many times the plant reported this problem while the request was open.")
    plant_bridge_last_seen = fields.Datetime(
        'Last Reported', readonly=True, copy=False, help="When the plant last reported this problem.")
    plant_bridge_productivity_id = fields.Many2one(
        'mrp.workcenter.productivity', 'Downtime', readonly=True, copy=False, index='btree_not_null',
        ondelete='set null', help="The work center's downtime that caused this corrective request.")
    plant_bridge_block_own = fields.Boolean(
        'Blocks the Work Center', readonly=True, copy=False,
        help="The downtime was opened by this request (the work center blocked for the maintenance): "
             "it ends when the request reaches a done stage.")

    def write(self, vals):
        res = super().write(vals)
        if 'stage_id' in vals:
            self._plant_bridge_unblock()
        return res

    def _plant_bridge_unblock(self):
        """Done with the maintenance: end the block the request opened, as the work center's
        Unblock button would (the plant's own downtime intervals are the plant's to close)."""
        blocks = self.filtered(lambda r: r.done and r.plant_bridge_block_own).plant_bridge_productivity_id
        blocks.filtered(lambda p: not p.date_end).write({'date_end': fields.Datetime.now()})

    @api.model
    def _plant_bridge_open_domain(self):
        return [('stage_id.done', '=', False), ('archive', '=', False)]
