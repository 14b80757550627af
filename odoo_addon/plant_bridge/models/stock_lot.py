from odoo import fields, models


class StockLot(models.Model):
    _inherit = 'stock.lot'

    plant_bridge_hold = fields.Boolean('Quality Hold', compute='_compute_plant_bridge_hold',
                                       search='_search_plant_bridge_hold')

    def _compute_plant_bridge_hold(self):
        held = self.env['plant_bridge.quality.result'].sudo().search(
            [('hold_state', '=', 'held'), ('lot_id', 'in', self.ids)]).lot_id
        for lot in self:
            lot.plant_bridge_hold = lot in held

    def _search_plant_bridge_hold(self, operator, value):
        if operator not in ('=', '!=') or not isinstance(value, bool):
            return NotImplemented
        held = self.env['plant_bridge.quality.result'].sudo().search([('hold_state', '=', 'held')]).lot_id
        positive = (operator == '=') == value
        return [('id', 'in' if positive else 'not in', held.ids)]
