from odoo import Command

from ..clock import event_time
from ..exceptions import EventDeferred, EventRejected
from .base import Handler


class ProductionHandler(Handler):
    """`production`: quantity produced on the MO (an increment), lot/serial, done when `finish`.

    A lot or serial the plant names is created when it does not exist, if the plant owns lots in
    the site's system-of-record matrix; where Odoo owns them, an unknown one is refused
    `unknown_lot` (create it in Odoo, then replay the event).
    A lot-tracked order carries one lot: a `production` naming another lot while the order is
    partly produced under the first closes it for what was produced (Mark as Done with a
    backorder, as a person would) and continues the backorder under the new lot (this event's
    quantity goes to the backorder); before anything is produced, the new lot replaces the first.
    `byproducts` (optional): `[{product, quantity, uom?, lot?}]`, what was produced of the BOM's
    by-products with this event, as in the MO form's By-products tab (see `_report_byproduct`);
    without it Odoo's proposal for them stands.
    Serial-tracked products are reported one serial per event (quantity 1) and collected in
    `lot_producing_ids` (a many2many since 19); a unit without its serial is refused
    `unknown_lot`, a serial Odoo would warn about or refuse (in stock, already produced) is
    refused `state_conflict`. Lot-tracked products carry one lot per MO.
    `quantity` is in the order's unit, or in `uom` (converted to the order's unit).
    `finish` marks the MO done; `backorder` (bool) overrides the operation type's policy
    (`never` -> no backorder, `always`/`ask` -> a backorder for the remaining quantity).
    The quantity producing is the larger of the sum of these reports and the last work order
    `finished` quantity (the same units counted twice, not added nor overwritten).
    A `finish` needs a quantity reported by the plant (this event's or earlier ones, a work
    order's finished quantity, the serials produced): Odoo's Mark as Done on an order with
    nothing producing produces all it planned, which is not what a plant that reported nothing
    did - refused `bad_quantity`, the order untouched. A `finish` under a quality hold on the
    order or its lots waits (deferred `quality_hold`) and is posted again when the hold is released;
    so does a finish consuming a component lot another order's hold holds.
    """
    event_type = 'production'
    required = ('order', 'quantity')

    def object_key(self, event):
        return ('order', event.get('order'))

    def validate(self, item):
        super().validate(item)
        event = item.event
        if 'finish' in event and not isinstance(event['finish'], bool):
            raise EventRejected('schema', "'finish' must be a boolean")
        if event.get('backorder') is not None and not isinstance(event['backorder'], bool):
            raise EventRejected('schema', "'backorder' must be a boolean")
        byproducts = event.get('byproducts')
        if byproducts is not None and (not isinstance(byproducts, list)
                                       or not all(isinstance(entry, dict) for entry in byproducts)):
            raise EventRejected('schema', "'byproducts' must be a list of objects")

    def apply(self, item):
        event = item.event
        finish = bool(event.get('finish'))
        quantity = self.get_quantity(event, allow_zero=finish)
        production = self.resolve_order(item, self.get_str(event, 'order'))
        quantity = self.in_unit(event, quantity, production.product_uom_id)
        occurred = self.get_datetime(event, 'occurredAt')
        if finish:
            # finishing posts stock moves: never into a locked period
            self.check_period(production.company_id, occurred)
        lot_name = self.get_str(event, 'lot', required=False)
        product = production.product_id
        if product.tracking != 'none':
            if lot_name:
                production = self._assign_lot(item, production, lot_name, quantity)
            elif not production.lot_producing_ids or (product.tracking == 'serial' and quantity):
                # a serial is reported with its unit; a lot once per order
                raise EventRejected('unknown_lot', f"{production.name} produces a tracked product: 'lot' is required")
        elif lot_name:
            raise EventRejected('schema', f"{product.display_name} is not tracked by lot or serial")
        if product.tracking != 'serial' and quantity:
            # increments of what the plant reported, not of Odoo's own proposal; a bare `finish`
            # (quantity 0) completes with the quantity as it stands
            production.plant_bridge_qty_reported += quantity
            production.qty_producing = production._plant_bridge_qty_produced()
        production._set_qty_producing(False)
        for entry in event.get('byproducts') or ():
            self._report_byproduct(item, production, entry)
        if finish:
            self._check_reported(production)
            # a person would wait for the hold to be lifted, then mark the order done
            self.check_quality_hold(production, production.lot_producing_ids, defer=True)
            self._check_held_components(production)
            with event_time(occurred):
                # Mark as Done at the event's time: the moves, their lines, the quants and the
                # order are dated when the plant finished, not when the event was posted
                self._mark_done(production, event)
        return production

    def _assign_lot(self, item, production, lot_name, quantity):
        product = production.product_id
        lot = self._lot_to_produce(item, lot_name, product)
        if product.tracking == 'serial':
            if quantity not in (0.0, 1.0):
                raise EventRejected('bad_quantity', "A serial number is produced one unit at a time")
            if lot in production.lot_producing_ids:
                raise EventRejected('state_conflict', f"Serial {lot_name} is already produced on {production.name}")
            self._check_new_serial(production, lot)
            if quantity:
                production.lot_producing_ids = [Command.link(lot.id)]
                production.qty_producing = len(production.lot_producing_ids)
        elif (production.lot_producing_ids and production.lot_producing_ids != lot
              and not production.product_uom_id.is_zero(production.plant_bridge_qty_reported)):
            production = self._continue_on_backorder(production)
            production.lot_producing_ids = [Command.set(lot.ids)]
        else:
            if production.lot_producing_ids and production.lot_producing_ids != lot:
                # another lot before anything was produced under the first: as a person
                # changing the lot in the MO form (its Clear button, then the new lot)
                production.action_clear_lot_producing_ids()
            production.lot_producing_ids = [Command.set(lot.ids)]
        return production

    def _report_byproduct(self, item, production, entry):
        """What the plant produced of a by-product, as a person fills the By-products tab: the
        first report on a by-product move replaces Odoo's proposal (`_set_qty_producing`), later
        ones add; the move is marked produced (`picked`), so producing more does not propose over
        it. A tracked by-product needs its lot (created as the finished product's lots are, per
        the system-of-record matrix); a serial is reported one unit at a time."""
        code = self.get_str(entry, 'product')
        quantity = self.get_quantity(entry, allow_zero=True)
        product_id = item.links.get('product_id')
        product = self.resolve_product(item, code)
        if product_id:
            item.links['product_id'] = product_id
        else:
            item.links.pop('product_id', None)
        move = production.move_byproduct_ids.filtered(
            lambda m: m.product_id == product and m.state not in ('done', 'cancel'))[:1]
        if not move:
            raise EventRejected('state_conflict', f"{product.display_name} is not an open by-product of {production.name}")
        quantity = self.in_unit(entry, quantity, move.product_uom)
        lot = self.env['stock.lot']
        lot_name = self.get_str(entry, 'lot', required=False)
        if product.tracking != 'none':
            if not lot_name and quantity:
                raise EventRejected('unknown_lot', f"By-product {product.display_name} is tracked: 'lot' is required")
            if product.tracking == 'serial' and quantity not in (0.0, 1.0):
                raise EventRejected('bad_quantity', "A serial number is produced one unit at a time")
            if lot_name:
                lot_id = item.links.get('lot_id')
                lot = self._lot_to_produce(item, lot_name, product)
                if lot_id:
                    item.links['lot_id'] = lot_id
        elif lot_name:
            raise EventRejected('schema', f"{product.display_name} is not tracked by lot or serial")
        first = not move.picked
        if product.tracking == 'none':
            move.quantity = quantity if first else move.quantity + quantity
        else:
            if first:
                move.move_line_ids.unlink()
            if quantity:
                vals = move._prepare_move_line_vals(quantity=quantity)
                vals.update(lot_id=lot.id, quantity=quantity, product_uom_id=move.product_uom.id)
                self.env['stock.move.line'].create(vals)
        move.picked = True

    def _continue_on_backorder(self, production):
        """A new lot while the order is partly produced under another: as a person would in
        Odoo, the order is marked done for what was produced under the first lot, with a
        backorder for the rest, which the new lot continues. Returns the backorder."""
        if production.product_uom_id.compare(production.plant_bridge_qty_reported, production.product_qty) >= 0:
            raise EventRejected('state_conflict', (
                f"{production.name} has produced all it planned under lot {production.lot_producing_ids[:1].name}: "
                f"no backorder is left for another lot"))
        self.check_quality_hold(production, production.lot_producing_ids, defer=True)
        self._check_held_components(production)
        self._mark_done(production, {'backorder': True})
        backorder = (production.production_group_id.production_ids - production).filtered(
            lambda mo: mo.state not in ('done', 'cancel')).sorted('backorder_sequence')[:1]
        if not backorder:
            raise EventRejected('state_conflict', f"{production.name}: no backorder to continue under another lot")
        return backorder

    def _lot_to_produce(self, item, lot_name, product):
        # a lot the plant names is created only where the plant owns lots (system-of-record matrix)
        plant_owns_lots = item.site._sor_owner('lots') == 'plant'
        try:
            return self.resolve_lot(item, lot_name, product, create=plant_owns_lots)
        except EventRejected:
            raise EventRejected('unknown_lot', (
                f"No lot/serial '{lot_name}' for product {product.display_name}: Odoo is the system of record "
                f"for lots at site {item.site.code}, the lot must be created in Odoo first")) from None

    def _check_reported(self, production):
        if production.product_id.tracking == 'serial':
            reported = production.lot_producing_ids
        else:
            reported = not production.product_uom_id.is_zero(production._plant_bridge_qty_produced())
        if not reported or production.product_uom_id.is_zero(production.qty_producing):
            raise EventRejected('bad_quantity', f"{production.name}: nothing produced was reported, "
                                                f"a finish needs a quantity (Odoo would produce all "
                                                f"{production.product_qty:g} planned)")

    def _check_held_components(self, production):
        """A component lot held by another order's (or its own) quality hold: Odoo would refuse
        to mark the order done; the finish waits for the hold to be released instead."""
        lots = production.move_raw_ids.move_line_ids.filtered('quantity').lot_id
        if self.env['plant_bridge.quality.result']._holds_on_lots(lots, production=production):
            raise EventDeferred('quality_hold', f"{production.name} consumes a lot under a quality hold: the "
                                                f"finish waits until a manager releases it", retry_after=300)

    def _check_new_serial(self, production, lot):
        """Odoo's own checks of a serial being produced: the MO form warns when it is in stock
        somewhere (_can_produce_serial_numbers) and Mark as Done refuses one already produced
        (_check_sn_uniqueness, which ignores serials the order itself consumes). The plant cannot
        answer a warning: both refuse the serial before it is assigned."""
        if production._can_produce_serial_numbers(lot) is not True:
            raise EventRejected('state_conflict', f"Serial {lot.name} of {production.product_id.display_name} "
                                                  f"is already in stock")
        if lot not in production.move_raw_ids.lot_ids and production._are_finished_serials_already_produced(lot):
            raise EventRejected('state_conflict', f"Serial {lot.name} of {production.product_id.display_name} "
                                                  f"was already produced")

    def _mark_done(self, production, event):
        backorder = event.get('backorder')
        if backorder is None:
            backorder = production.picking_type_id.create_backorder != 'never'
        backorder = backorder and not production.product_uom_id.is_zero(production._get_quantity_to_backorder())
        # Consumption is the plant's (system-of-record matrix): no consumption wizard here.
        production.with_context(
            skip_consumption=True, skip_redirection=True, skip_backorder=True,
            mo_ids_to_backorder=production.ids if backorder else [],
        ).button_mark_done()
        if production.state != 'done':
            raise EventRejected('state_conflict', f"{production.name} could not be marked done")
