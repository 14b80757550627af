from odoo import fields, models


class StockLot(models.Model):
    _inherit = 'stock.lot'

    plant_bridge_hold = fields.Boolean('Quality Hold', compute='_compute_plant_bridge_hold',
                                       search='_search_plant_bridge_hold',
                                       help="Held by a quality hold: the lot is named by the hold, or "
                                            "was produced by an order under a hold.")

    def _held_by_holds(self):
        return self.env['plant_bridge.quality.result'].sudo().search([('hold_state', '=', 'held')])._held_lots()

    def _compute_plant_bridge_hold(self):
        held = self._held_by_holds()
        for lot in self:
            lot.plant_bridge_hold = lot in held

    def _search_plant_bridge_hold(self, operator, value):
        if operator not in ('=', '!=') or not isinstance(value, bool):
            return NotImplemented
        held = self._held_by_holds()
        positive = (operator == '=') == value
        return [('id', 'in' if positive else 'not in', held.ids)]
