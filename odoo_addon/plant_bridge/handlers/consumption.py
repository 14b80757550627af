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
        lot = self.env['stock.lot']
        lot_name = self.get_str(event, 'lot', required=False)
        if product.tracking != 'none':
            if not lot_name:
                raise EventRejected('unknown_lot', f"{product.display_name} is tracked: 'lot' is required")
            lot = self.resolve_lot(item, lot_name, product)
            if product.tracking == 'serial' and quantity != 1:
                raise EventRejected('bad_quantity', "A serial number is consumed one unit at a time")
        if not move.plant_bridge_consumed:
            move.move_line_ids.unlink()
        line = move.move_line_ids.filtered(lambda ml: ml.lot_id == lot)[:1]
        if line:
            line.quantity += move.product_uom._compute_quantity(quantity, line.product_uom_id)
        else:
            vals = move._prepare_move_line_vals(quantity=quantity)
            vals.update(lot_id=lot.id or False, quantity=quantity, product_uom_id=move.product_uom.id)
            self.env['stock.move.line'].create(vals)
        move.write({'picked': True, 'manual_consumption': True, 'plant_bridge_consumed': True})
        return move
