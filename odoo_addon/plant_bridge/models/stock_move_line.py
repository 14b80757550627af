from odoo import api, models


class StockMoveLine(models.Model):
    _inherit = 'stock.move.line'

    #: what a component's reservation is made of (docs/odoo-api.md `fetch_outbound`, `reserved`)
    PLANT_BRIDGE_RESERVATION_FIELDS = ('quantity', 'lot_id', 'location_id', 'package_id', 'product_uom_id')

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.move_id.raw_material_production_id._plant_bridge_mark_changed()
        return lines

    def write(self, vals):
        res = super().write(vals)
        if any(f in vals for f in self.PLANT_BRIDGE_RESERVATION_FIELDS):
            self.move_id.raw_material_production_id._plant_bridge_mark_changed()
        return res

    def unlink(self):
        productions = self.move_id.raw_material_production_id
        res = super().unlink()
        productions.exists()._plant_bridge_mark_changed()
        return res
