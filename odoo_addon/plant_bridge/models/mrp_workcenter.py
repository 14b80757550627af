from odoo import fields, models

MACHINE_STATUSES = [
    ('running', 'Running'),
    ('idle', 'Idle'),
    ('down', 'Down'),
    ('setup', 'Setup'),
    ('offline', 'Offline'),
]


class MrpWorkcenter(models.Model):
    _inherit = 'mrp.workcenter'

    plant_bridge_status = fields.Selection(MACHINE_STATUSES, string='Machine Status', readonly=True,
                                           help="Live state reported by the plant (machine_status events).")
    plant_bridge_status_since = fields.Datetime('Status Since', readonly=True)
    plant_bridge_status_at = fields.Datetime('Last Status Event', readonly=True)
    plant_bridge_counters = fields.Text('Machine Counters', readonly=True, help="Last counters reported (JSON).")
    plant_bridge_auto_downtime = fields.Boolean(
        'Automatic Downtime',
        help="Open a downtime interval when the machine reports `down`, close it on the next status.")
    plant_bridge_downtime_loss_id = fields.Many2one(
        'mrp.workcenter.productivity.loss', 'Automatic Downtime Reason',
        help="Loss used for automatic downtime; empty: the first availability loss.")
    plant_bridge_open_downtime_id = fields.Many2one('mrp.workcenter.productivity', readonly=True,
                                                    ondelete='set null')
    plant_bridge_equipment_ids = fields.One2many('maintenance.equipment', 'plant_bridge_workcenter_id',
                                                 string='Equipment')

    def unblock(self):
        res = super().unblock()
        if not self.env.context.get('plant_bridge_no_change'):
            # unblocked in Odoo's screens: the plant's finishes waiting for it apply now
            self.env['plant_bridge.message']._release_waiting_finishes(workcenters=self)
        return res
