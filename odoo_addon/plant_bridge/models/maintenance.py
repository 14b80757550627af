from odoo import fields, models


class MaintenanceEquipment(models.Model):
    """Community 19 has no mrp_maintenance: the work center <-> equipment link is ours."""
    _inherit = 'maintenance.equipment'

    plant_bridge_workcenter_id = fields.Many2one('mrp.workcenter', 'Work Center', index='btree_not_null',
                                                 check_company=True)


class MaintenanceRequest(models.Model):
    _inherit = 'maintenance.request'

    plant_bridge_workcenter_id = fields.Many2one('mrp.workcenter', 'Work Center', index='btree_not_null',
                                                 check_company=True)
