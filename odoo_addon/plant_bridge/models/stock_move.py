from odoo import _, models
from odoo.exceptions import UserError


class StockMove(models.Model):
    _inherit = 'stock.move'

    def _action_done(self, cancel_backorder=False):
        """A lot under a quality hold does not leave the company (outgoing moves)."""
        outgoing = self.filtered(lambda m: m.picking_code == 'outgoing' or m.location_dest_id.usage == 'customer')
        lots = outgoing.move_line_ids.lot_id
        if lots:
            held = self.env['plant_bridge.quality.result'].sudo().search(
                [('hold_state', '=', 'held'), ('lot_id', 'in', lots.ids)]).lot_id
            if held:
                raise UserError(_("Quality hold on lot(s) %s: release the hold before shipping.",
                                  ', '.join(held.mapped('name'))))
        return super()._action_done(cancel_backorder=cancel_backorder)
