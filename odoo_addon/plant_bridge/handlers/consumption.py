from ..clock import event_time
from ..exceptions import EventRejected
from .base import Handler


class ConsumptionHandler(Handler):
    """`consumption`: a component quantity consumed by the MO, with its lot when tracked.

    The first report on a raw move replaces Odoo's proposal with what the plant consumed,
    whatever proposed it and whenever it arrives: the reservation, a quantity produced before
    (`_set_qty_producing` proposes BOM quantities and picks them), a work order that ended
    (`button_finish` picks what was not). Later reports add to the first (the plant reports
    increments). The move becomes `picked` and `manual_consumption`, so producing more on the
    MO or ending a work order does not propose over it again - as when a person types the
    consumed quantity in the MO form.

    Where the stock is: an untracked component's quantity is set as the MO form sets it (Odoo
    keeps the reserved lines and takes the rest from the source location's quants, sub-locations
    included; only a quantity Odoo has nowhere goes negative, as it does for a person); a lot or
    serial is taken from its own quants under the source location and refused
    `state_conflict` when it is not available there in the quantity reported.

    A lot under a quality hold (named by the hold, or produced by a held order) is not consumed
    into another order: refused `quality_hold`, and the attempt recorded against the hold.

    `quantity` is in the unit of the component's move (the BOM line's), or in `uom`, converted to
    it as the MO form would hold it.

    The move lines are written at the event's `occurredAt` (`clock.event_time`), so they carry
    the time of consumption as if typed then, however late the event is posted (Mark as Done
    dates them again when the order is finished, at the finish's `occurredAt`).
    """
    event_type = 'consumption'
    required = ('order', 'product', 'quantity')

    def object_key(self, event):
        return ('order', event.get('order'))

    def apply(self, item):
        event = item.event
        quantity = self.get_quantity(event)
        production = self.resolve_order(item, self.get_str(event, 'order'))
        product = self.resolve_product(item, self.get_str(event, 'product'))
        move = production.move_raw_ids.filtered(
            lambda m: m.product_id == product and m.state not in ('done', 'cancel'))[:1]
        if not move:
            raise EventRejected('state_conflict', f"{product.display_name} is not an open component of {production.name}")
        quantity = self.in_unit(event, quantity, move.product_uom)
        lot = self.env['stock.lot']
        lot_name = self.get_str(event, 'lot', required=False)
        if product.tracking != 'none':
            if not lot_name:
                raise EventRejected('unknown_lot', f"{product.display_name} is tracked: 'lot' is required")
            lot = self.resolve_lot(item, lot_name, product)
            if product.tracking == 'serial' and quantity != 1:
                raise EventRejected('bad_quantity', "A serial number is consumed one unit at a time")
            if holds := move._plant_bridge_holds(lot):
                refusal = EventRejected('quality_hold', f"Lot/serial {lot.name} of {product.display_name} is "
                                                        f"under a quality hold: it is not consumed into "
                                                        f"{production.name}")
                # the refusal is recorded against the hold, for the held order's trace
                blocks = [move._plant_bridge_block_vals(result, lot) for result in holds]
                refusal.after_rollback = lambda: self.env['plant_bridge.hold.block'].sudo().create(blocks)
                raise refusal
        with event_time(self.get_datetime(event, 'occurredAt')):
            self._consume(move, lot, quantity)
        return move

    def _consume(self, move, lot, quantity):
        first = not move.plant_bridge_consumed
        if move.product_id.tracking == 'none':
            # as typing the consumed quantity in the MO form: Odoo's inverse keeps the reserved
            # lines and takes any extra where the stock is (sub-locations first)
            move.quantity = quantity if first else move.quantity + quantity
        else:
            if first:
                move.move_line_ids.unlink()
            self._take_lot(move, lot, quantity)
        move.write({'picked': True, 'manual_consumption': True, 'plant_bridge_consumed': True})

    def _take_lot(self, move, lot, quantity):
        """Lines of `lot` for `quantity` (in the move's unit) from the lot's quants under the
        move's source location, through Odoo's own reservation: a lot (or serial) that is not
        available there in that quantity is refused, not booked as a negative quant."""
        product = move.product_id
        if not product.is_storable:
            vals = move._prepare_move_line_vals(quantity=quantity)
            vals.update(lot_id=lot.id, quantity=quantity, product_uom_id=move.product_uom.id)
            self.env['stock.move.line'].create(vals)
            return
        need = move.product_uom._compute_quantity(quantity, product.uom_id)
        taken = move._update_reserved_quantity(need, move.location_id, lot_id=lot, strict=False)
        if product.uom_id.compare(taken, need) < 0:
            raise EventRejected('state_conflict', (
                f"Lot/serial {lot.name} of {product.display_name}: {need:g} {product.uom_id.name} consumed, "
                f"{taken:g} available in {move.location_id.complete_name}"))
