from odoo import _, api, fields, models
from odoo.exceptions import UserError


class StockMove(models.Model):
    _inherit = 'stock.move'

    plant_bridge_consumed = fields.Boolean(
        'Consumption Reported by the Plant', readonly=True, copy=False,
        help="The plant reported what this component move consumed: its move lines are the plant's "
             "reports, whatever Odoo had proposed before (reservation, producing a quantity, ending "
             "a work order) was replaced by the first report.")

    # ------------------------------------------------------------------ quality holds
    def _plant_bridge_hold_operation(self):
        """What a quality hold on a lot keeps this move from doing with it: 'consumption' for a
        component of a manufacturing order, 'delivery' for a move leaving for a customer (or
        any outgoing operation but a return to the vendor); None for the rest (internal
        transfers, e.g. to a quarantine location, scrap, returns to the vendor)."""
        self.ensure_one()
        if self.raw_material_production_id:
            return 'consumption'
        if self.location_dest_id.usage == 'supplier':
            return None
        if self.location_dest_id.usage == 'customer' or self.picking_code == 'outgoing':
            return 'delivery'
        return None

    def _plant_bridge_holds(self, lots):
        """The holds keeping `lots` out of this move (none for a move a hold does not concern)."""
        Result = self.env['plant_bridge.quality.result']
        if not lots or not self._plant_bridge_hold_operation():
            return Result
        return Result._holds_on_lots(lots, production=self.raw_material_production_id)

    def _update_reserved_quantity_vals(self, need, location_id, lot_id=None, package_id=None, owner_id=None,
                                       strict=True):
        """Reservation (Check Availability, confirmation, the plant's consumption) does not take
        a held lot into an order or a delivery: its quants are left out as if they were not there."""
        if self.product_id.tracking == 'none' or not self._plant_bridge_hold_operation():
            return super()._update_reserved_quantity_vals(need, location_id, lot_id, package_id, owner_id, strict)
        held = self.env['plant_bridge.quality.result'].sudo().search([('hold_state', '=', 'held')])
        held = held.filtered(lambda r: r.production_id != self.raw_material_production_id
                             or not self.raw_material_production_id)._held_lots()
        held = held.filtered(lambda lot: lot.product_id == self.product_id)
        held -= self.raw_material_production_id._plant_bridge_rework_lots()
        if lot_id and lot_id & held:
            return [], 0
        return super(StockMove, self.with_context(plant_bridge_held_lot_ids=held.ids))._update_reserved_quantity_vals(
            need, location_id, lot_id, package_id, owner_id, strict)

    def _action_done(self, cancel_backorder=False):
        """A held lot is neither delivered nor consumed into another order: the validation is
        refused, and the attempt recorded against the hold."""
        blocks = []
        for move in self:
            lots = move.move_line_ids.filtered('quantity').lot_id
            for result in move._plant_bridge_holds(lots):
                for lot in result._held_lots() & lots:
                    blocks.append(move._plant_bridge_block_vals(result, lot))
        if blocks:
            self.env['plant_bridge.hold.block']._record(blocks)
            names = ', '.join(sorted({self.env['stock.lot'].browse(b['lot_id']).name for b in blocks}))
            raise UserError(_("Quality hold on lot(s) %s: release the hold before shipping or consuming it.",
                              names))
        return super()._action_done(cancel_backorder=cancel_backorder)

    def _plant_bridge_block_vals(self, result, lot):
        document = self.raw_material_production_id or self.picking_id or self
        return {
            'result_id': result.id,
            'lot_id': lot.id,
            'operation': self._plant_bridge_hold_operation(),
            'res_model': document._name,
            'res_id': document.id,
            'res_name': document.display_name,
            'user_id': self.env.uid,
        }

    # ------------------------------------------------------------------ outbound
    #: a write of one of these on a component or by-product move changes what the plant was sent
    PLANT_BRIDGE_RELEASED_FIELDS = ('product_id', 'product_uom_qty', 'product_uom', 'operation_id',
                                    'location_id', 'byproduct_id')

    def _plant_bridge_productions(self):
        return self.raw_material_production_id | self.filtered(
            lambda m: m.production_id and m.product_id != m.production_id.product_id).production_id

    @api.model_create_multi
    def create(self, vals_list):
        moves = super().create(vals_list)
        moves._plant_bridge_productions()._plant_bridge_mark_changed()
        return moves

    def write(self, vals):
        res = super().write(vals)
        if any(f in vals for f in self.PLANT_BRIDGE_RELEASED_FIELDS) or vals.get('state') == 'cancel':
            self._plant_bridge_productions()._plant_bridge_mark_changed()
        return res

    def unlink(self):
        productions = self._plant_bridge_productions()
        res = super().unlink()
        productions.exists()._plant_bridge_mark_changed()
        return res
