from odoo import api, models


class MrpWorkorder(models.Model):
    _inherit = 'mrp.workorder'

    #: what a release says of a work order (docs/odoo-api.md `fetch_outbound`, `operations`)
    PLANT_BRIDGE_RELEASED_FIELDS = ('name', 'workcenter_id', 'date_start', 'date_finished',
                                    'duration_expected', 'operation_id')

    @api.model_create_multi
    def create(self, vals_list):
        workorders = super().create(vals_list)
        workorders.production_id._plant_bridge_mark_changed()
        return workorders

    def write(self, vals):
        res = super().write(vals)
        if any(f in vals for f in self.PLANT_BRIDGE_RELEASED_FIELDS):
            self.production_id._plant_bridge_mark_changed()
        return res

    def unlink(self):
        productions = self.production_id
        res = super().unlink()
        productions.exists()._plant_bridge_mark_changed()
        return res
