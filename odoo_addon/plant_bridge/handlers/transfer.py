from odoo import Command

from ..clock import event_time
from ..exceptions import EventRejected
from .base import Handler

#: the order's transfers of a multi-step manufacturing route, by the warehouse's operation type
STEP_TYPES = {'pick_components': 'pbm_type_id', 'store_finished': 'sam_type_id'}
#: fields of a move; the rest of the event names a transfer to validate
MOVE_FIELDS = ('product', 'quantity', 'from', 'to')


class TransferHandler(Handler):
    """`transfer`: goods moved by a scanner or a warehouse tool, as Odoo's transfers move them.

    - A move (`product`, `quantity`, `from`, `to`, with `lot`, `package`, `uom`): an internal
      transfer of the site's warehouse with that one line, as a person makes it (Inventory >
      Transfers > New, the Detailed Operations' lot / package / quantity) and validates.
    - A transfer validated: named (`picking`), or an order's step (`order` + `step`: its *pick
      components* or *store finished* transfer in 2- and 3-step routes). Availability is checked
      first (Check Availability); with `lines` what was picked of each product replaces what Odoo
      reserved (products not named stay unpicked), without them the transfer as reserved; then
      Validate (`button_validate`). Less than planned: Odoo's backorder wizard is answered as
      `backorder` says (*Create Backorder* by default, *No Backorder* with false); an operation
      type set to always / never make backorders decides alone, as in Odoo.

    A scan Odoo cannot resolve is refused with its code: `unknown_product` (internal reference or
    barcode), `unknown_lot`, `unknown_location` (full name or barcode, of the site's
    warehouse), `unknown_package`, `unknown_picking`. Validated at `occurredAt`.
    """
    event_type = 'transfer'

    def object_key(self, event):
        if event.get('order'):
            return ('order', event['order'])
        if event.get('picking'):
            return ('picking', event['picking'])
        return ('product', event.get('product'))

    def apply(self, item):
        event = item.event
        occurred = self.get_datetime(event, 'occurredAt')
        self.check_period(item.site.company_id, occurred)
        if any(event.get(name) is not None for name in MOVE_FIELDS):
            if event.get('picking') or event.get('order') or event.get('lines'):
                raise EventRejected('schema', "A transfer is a move or a picking to validate, not both")
            return self._move(item, event, occurred)
        return self._validate_picking(item, event, occurred)

    # ------------------------------------------------------------------ resolving scans
    def _product(self, item, code):
        """A product by internal reference, else by barcode (what a scanner reads)."""
        company = item.site.company_id

        def search():
            Product = self.env['product.product']
            domain = [('company_id', 'in', (company.id, False))]
            return (Product.search(domain + [('default_code', '=', code)], limit=1)
                    or Product.search(domain + [('barcode', '=', code)], limit=1))
        product = self._cached('product_or_barcode', (company.id, code), search)
        if not product:
            raise EventRejected('unknown_product', f"No product with internal reference or barcode '{code}'")
        item.links['product_id'] = product.id
        return product

    def _location(self, item, name):
        warehouse = item.site.warehouse_id
        location = self.env['stock.location'].search([
            ('usage', '=', 'internal'), ('id', 'child_of', warehouse.view_location_id.id),
            '|', ('complete_name', '=', name), ('barcode', '=', name)], limit=1)
        if not location:
            raise EventRejected('unknown_location', f"No location {name} in warehouse {warehouse.code}")
        return location

    def _package(self, item, name):
        package = self.env['stock.package'].search([
            ('name', '=', name), ('company_id', 'in', (item.site.company_id.id, False))], limit=1)
        if not package:
            raise EventRejected('unknown_package', f"No package {name}")
        return package

    def _line(self, item, line, move_uom=None):
        """(product, quantity in the unit used, unit, lot, package) of a move or a picked line."""
        product = self._product(item, self.get_str(line, 'product'))
        quantity = self.get_quantity(line, allow_zero=move_uom is not None)
        uom = self.get_uom(line)
        target = move_uom or product.uom_id
        if uom and uom != target:
            if not uom._has_common_reference(target):
                raise EventRejected('bad_uom', f"{uom.name} cannot be converted to {target.name}")
            quantity = uom._compute_quantity(quantity, target, rounding_method='HALF-UP')
        lot = self.env['stock.lot']
        if name := self.get_str(line, 'lot', required=False):
            if product.tracking == 'none':
                raise EventRejected('schema', f"{product.display_name} is not tracked by lot or serial")
            lot = self.resolve_lot(item, name, product)
        elif product.tracking != 'none' and quantity:
            raise EventRejected('unknown_lot', f"{product.display_name} is tracked: the lot or serial is required")
        if product.tracking == 'serial' and quantity not in (0, 1):
            raise EventRejected('bad_quantity', f"A serial's quantity is 1, got {quantity}")
        package = self.env['stock.package']
        if name := self.get_str(line, 'package', required=False):
            package = self._package(item, name)
        return product, quantity, target, lot, package

    # ------------------------------------------------------------------ a move between locations
    def _move(self, item, event, occurred):
        product, quantity, uom, lot, package = self._line(item, event)
        source = self._location(item, self.get_str(event, 'from'))
        destination = self._location(item, self.get_str(event, 'to'))
        picking_type = item.site.warehouse_id.int_type_id
        with event_time(occurred):
            picking = self.env['stock.picking'].create({
                'picking_type_id': picking_type.id,
                'location_id': source.id,
                'location_dest_id': destination.id,
                'company_id': item.site.company_id.id,
                'move_ids': [Command.create({
                    'product_id': product.id,
                    'product_uom_qty': quantity,
                    'product_uom': uom.id,
                    'location_id': source.id,
                    'location_dest_id': destination.id,
                })],
            })
            picking.action_confirm()
            self._pick(picking.move_ids, [(quantity, lot, package)])
            self._validate(picking, event)
        return picking

    # ------------------------------------------------------------------ validating a transfer
    def _picking(self, item, event):
        warehouse = item.site.warehouse_id
        Picking = self.env['stock.picking']
        if name := self.get_str(event, 'picking', required=False):
            picking = Picking.search([('name', '=', name), ('picking_type_id.warehouse_id', '=', warehouse.id)],
                                     limit=1)
            if not picking:
                raise EventRejected('unknown_picking', f"No transfer {name} in warehouse {warehouse.code}")
            return picking
        step = self.get_str(event, 'step')
        if step not in STEP_TYPES:
            raise EventRejected('schema', f"step must be one of {', '.join(STEP_TYPES)}, got {step!r}")
        production = self.resolve_order(item, self.get_str(event, 'order'), allow_done=step == 'store_finished')
        picking_type = warehouse[STEP_TYPES[step]]
        pickings = production.picking_ids.filtered(lambda p: p.picking_type_id == picking_type).sorted('id')
        picking = pickings.filtered(lambda p: p.state not in ('done', 'cancel'))[:1]
        if not picking:
            raise EventRejected('unknown_picking' if not pickings else 'state_conflict', (
                f"{production.name} has no open {step.replace('_', ' ')} transfer"
                + ("" if pickings else f" (its warehouse's route: {warehouse.manufacture_steps})")))
        return picking

    def _validate_picking(self, item, event, occurred):
        picking = self._picking(item, event)
        if picking.state in ('done', 'cancel'):
            raise EventRejected('state_conflict', f"Transfer {picking.name} is {picking.state}")
        lines = event.get('lines')
        if lines is not None and not isinstance(lines, list):
            raise EventRejected('schema', "lines must be a list")
        with event_time(occurred):
            if picking.state == 'draft':
                picking.action_confirm()
            if picking.state in ('confirmed', 'waiting'):
                picking.action_assign()  # Check Availability
            if lines:
                self._pick_lines(item, picking, lines)
            self._validate(picking, event)
        return picking

    def _pick_lines(self, item, picking, lines):
        """What was picked replaces the reservation of each product named; the others stay
        unpicked (they go to the backorder, as in the picking form)."""
        picked = {}
        for line in lines:
            if not isinstance(line, dict):
                raise EventRejected('schema', "each line must be an object")
            product = self._product(item, self.get_str(line, 'product'))
            move = picking.move_ids.filtered(lambda m: m.product_id == product and m.state not in ('done', 'cancel'))[:1]
            if not move:
                raise EventRejected('state_conflict', f"{product.display_name} is not to be moved by {picking.name}")
            _product, quantity, _uom, lot, package = self._line(item, line, move_uom=move.product_uom)
            picked.setdefault(move, []).append((quantity, lot, package))
        for move, scans in picked.items():
            self._pick(move, scans)

    def _pick(self, move, scans):
        """The move's Detailed Operations as typed: one line per scan (lot, source package,
        quantity), replacing what Odoo reserved; the move picked."""
        move.move_line_ids.unlink()
        for quantity, lot, package in scans:
            if not quantity:
                continue
            self.env['stock.move.line'].create({
                'move_id': move.id,
                'picking_id': move.picking_id.id,
                'product_id': move.product_id.id,
                'product_uom_id': move.product_uom.id,
                'quantity': quantity,
                'lot_id': lot.id or False,
                'package_id': package.id or False,
                'result_package_id': package.id if package and self._whole(package, move, quantity) else False,
                'location_id': move.location_id.id,
                'location_dest_id': move.location_dest_id.id,
            })
        move.picked = True

    def _whole(self, package, move, quantity):
        """The whole package is moved (it travels on): everything in it is this product, this much."""
        quants = package.quant_ids
        moved = move.product_uom._compute_quantity(quantity, move.product_id.uom_id)
        return (quants.product_id == move.product_id
                and move.product_id.uom_id.compare(sum(quants.mapped('quantity')), moved) == 0)

    def _validate(self, picking, event):
        """Validate, answering the backorder wizard as `backorder` says (default: create one)."""
        if not isinstance(event.get('backorder', False), bool):
            raise EventRejected('schema', "backorder must be true or false")
        action = picking.button_validate()
        if isinstance(action, dict) and action.get('res_model') == 'stock.backorder.confirmation':
            wizard = self.env['stock.backorder.confirmation'].with_context(**action['context']).create({})
            if event.get('backorder') is False:
                wizard.process_cancel_backorder()
            else:
                wizard.process()
        if picking.state != 'done':
            raise EventRejected('state_conflict', f"Transfer {picking.name} could not be validated ({picking.state})")
