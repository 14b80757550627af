from odoo import _, fields, models
from odoo.exceptions import UserError


class StockMove(models.Model):
    _inherit = 'stock.move'

    plant_bridge_consumed = fields.Boolean(
        'Consumption Reported by the Plant', readonly=True, copy=False,
        help="The plant reported what this component move consumed: its move lines are the plant's "
             "reports, whatever Odoo had proposed before (reservation, producing a quantity, ending "
             "a work order) was replaced by the first report.")

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
