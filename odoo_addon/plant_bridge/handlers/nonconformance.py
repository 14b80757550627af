from ..clock import event_time
from ..exceptions import EventRejected
from ..models.plant_bridge_nonconformance import DISPOSITIONS
from .base import Handler
from .scrap import ScrapHandler


class NonconformanceHandler(Handler):
    """`nonconformance`: a `plant_bridge.nonconformance` and the operation a person does in Odoo
    for its disposition:

    - `scrap`: a validated `stock.scrap` (as the `scrap` event makes it, the defect as its reason);
    - `rework` without `bom`: an unbuild (`mrp.unbuild`, the Unbuild form's Unbuild) of the order's
      output (the order must be done) or of the product / lot from stock; with `bom` (a bill of
      materials' reference): a confirmed rework order of that bill of materials;
    - `use_as_is`: a concession: the holds on the order / lot are released in the approver's name
      (`approvedBy`, who must be a Plant Bridge manager, as releasing a hold in Odoo's screens
      requires); finishes waiting for the hold then post;
    - `return`: a return of the done receipt that brought the lot (the Return wizard on it, the
      quantity on the product's line), confirmed and reserved on that lot, left for the warehouse
      to ship.

    The nonconformance links the quality result that found it: the quality event named in
    `qualityEvent`, else the last failed result on the order or lot.
    """
    event_type = 'nonconformance'
    required = ('defect', 'disposition', 'quantity')

    def object_key(self, event):
        if event.get('order'):
            return ('order', event['order'])
        return ('lot', event['lot']) if event.get('lot') else None

    def apply(self, item):
        event = item.event
        disposition = self.get_str(event, 'disposition')
        if disposition not in dict(DISPOSITIONS):
            raise EventRejected('schema', f"disposition must be one of {', '.join(dict(DISPOSITIONS))}")
        quantity = self.get_quantity(event)
        production = self.env['mrp.production']
        if order := self.get_str(event, 'order', required=False):
            production = self.resolve_order(item, order, allow_done=True)
        workorder = self.env['mrp.workorder']
        if operation := self.get_str(event, 'operation', required=False):
            if not production:
                raise EventRejected('schema', "'operation' needs 'order'")
            workorder = production.workorder_ids.filtered(lambda wo: wo.name == operation)[:1]
            if not workorder:
                raise EventRejected('unknown_operation', f"{production.name} has no operation '{operation}'")
        product, lot = self.resolve_goods(item, event, production)
        if not product:
            raise EventRejected('schema', "a nonconformance names an 'order', or a 'product' with its 'lot'")
        item.links['product_id'] = product.id
        if lot and not production:
            # on the Order Trace of the order that produced the lot
            if producer := self.env['mrp.production'].search([('lot_producing_ids', 'in', lot.ids)], limit=1):
                item.links['production_id'] = producer.id
        uom = self.get_uom(event)
        approver = self.env['res.users']
        if badge := self.get_str(event, 'approvedBy', required=False):
            approver = self.resolve_operator(item, badge)
        location = None
        if where := self.get_str(event, 'location', required=False):
            location = ScrapHandler._location(self, item, where)
        occurred = self.get_datetime(event, 'occurredAt')
        result = self._quality_result(item, event, production, lot)
        defect = self.get_str(event, 'defect')
        vals = {
            'name': defect[:200],
            'description': self.get_str(event, 'description', required=False) or False,
            'site_id': item.site.id,
            'occurred_at': occurred,
            'production_id': production.id or False,
            'workorder_id': workorder.id or False,
            'product_id': product.id,
            'lot_id': lot.id or False,
            'quantity': quantity,
            'uom_id': (uom or product.uom_id).id,
            'disposition': disposition,
            'approved_by_id': approver.id or False,
            'quality_result_id': result.id or False,
        }
        if disposition == 'scrap':
            vals['scrap_id'] = ScrapHandler(self.env, self.cache).make_scrap(
                item, product, quantity, uom, production, lot, location, defect, occurred).id
        elif disposition == 'rework' and (bom_ref := self.get_str(event, 'bom', required=False)):
            vals['rework_production_id'] = self._rework_order(item, bom_ref, quantity, uom, production, occurred).id
        elif disposition == 'rework':
            vals['unbuild_id'] = self._unbuild(item, production, product, lot, quantity, uom, location, occurred).id
        elif disposition == 'return':
            vals['return_picking_id'] = self._return(item, product, lot, quantity, uom).id
        nonconformance = self.env['plant_bridge.nonconformance'].create(vals)
        if nonconformance.rework_production_id and lot:
            self._rework_takes_lot(nonconformance.rework_production_id, lot)
        if disposition == 'use_as_is':
            self._use_as_is(item, nonconformance, approver, production, lot, result)
        return nonconformance

    # ------------------------------------------------------------------ links
    def _quality_result(self, item, event, production, lot):
        Result = self.env['plant_bridge.quality.result']
        if key := self.get_str(event, 'qualityEvent', required=False):
            message = self.env['plant_bridge.message'].search([
                ('site_id', '=', item.site.id), ('key', '=', key),
                ('res_model', '=', 'plant_bridge.quality.result')], limit=1)
            if not message:
                raise EventRejected('state_conflict', f"No applied quality event '{key}' on site {item.site.code}")
            return Result.browse(message.res_id).exists()
        if not (production or lot):
            return Result
        return Result.search([('site_id', '=', item.site.id), ('result', '=', 'fail')]
                             + Result._held_domain(production, lot)[1:], order='id desc', limit=1)

    # ------------------------------------------------------------------ dispositions
    def _unbuild(self, item, production, product, lot, quantity, uom, location, occurred):
        """What the Unbuild form does: for the order's output (a done order), or for the
        product / lot from stock with its bill of materials; Unbuild pressed, and when Odoo's stock
        says there is not enough, confirmed anyway (the goods are physically taken apart)."""
        if production and production.state != 'done':
            raise EventRejected('state_conflict', f"{production.name} is not done: there is no output to unbuild")
        stock = location or item.site.warehouse_id.lot_stock_id
        vals = {'company_id': item.site.company_id.id, 'product_id': product.id, 'product_qty': quantity,
                'lot_id': lot.id or False, 'location_id': stock.id, 'location_dest_id': stock.id}
        if uom:
            vals['product_uom_id'] = uom.id
        if production and product == production.product_id:
            vals['mo_id'] = production.id
        unbuild = self.env['mrp.unbuild'].with_company(item.site.company_id).create(vals)
        if not unbuild.bom_id:
            raise EventRejected('state_conflict', f"{product.display_name} has no bill of materials to unbuild")
        self.check_period(item.site.company_id, occurred)
        with event_time(occurred):
            if unbuild.action_validate() is not True and unbuild.state != 'done':
                unbuild.action_unbuild()
        return unbuild

    def _rework_order(self, item, reference, quantity, uom, production, occurred):
        """A rework order as the MO form makes it: the rework bill of materials (by its reference)
        on the site's manufacturing operation type, confirmed."""
        company = item.site.company_id
        bom = self.env['mrp.bom'].search([('code', '=', reference), ('company_id', 'in', (company.id, False)),
                                          ('type', '=', 'normal')], limit=1)
        if not bom:
            raise EventRejected('unknown_product', f"No bill of materials with reference '{reference}'")
        product = bom.product_id or bom.product_tmpl_id.product_variant_id
        rework = self.env['mrp.production'].with_company(company).create({
            'product_id': product.id,
            'bom_id': bom.id,
            'product_qty': quantity,
            'product_uom_id': (uom or bom.product_uom_id).id,
            'picking_type_id': item.site.warehouse_id.manu_type_id.id,
            'company_id': company.id,
            'origin': production.name or False,
        })
        rework.action_confirm()
        return rework

    def _rework_order_lines(self, rework, lot):
        return rework.move_raw_ids.filtered(lambda m: m.product_id == lot.product_id and m.state not in ('done', 'cancel'))

    def _rework_takes_lot(self, rework, lot):
        """The rework order's component move of the nonconforming product takes the lot found
        nonconforming (as a person picks it in the component's detailed operations), now that the
        order is known as its rework order (a hold on the lot does not keep it out)."""
        for move in self._rework_order_lines(rework, lot):
            move.move_line_ids.unlink()
            self.env['stock.move.line'].create(dict(move._prepare_move_line_vals(quantity=move.product_uom_qty),
                                                    lot_id=lot.id))

    def _return(self, item, product, lot, quantity, uom):
        """The Return wizard on the done receipt that brought the lot: the product's line set to
        the quantity, the return created (confirmed and reserved as the wizard leaves it), its
        move taking that lot."""
        if not lot:
            raise EventRejected('schema', "a return to the supplier names the 'lot' received")
        line = self.env['stock.move.line'].search([
            ('lot_id', '=', lot.id), ('state', '=', 'done'), ('picking_code', '=', 'incoming'),
            ('picking_id.picking_type_id.warehouse_id', '=', item.site.warehouse_id.id)], order='id desc', limit=1)
        receipt = line.picking_id
        if not receipt:
            raise EventRejected('unknown_picking', f"Lot {lot.name} came in by no receipt of warehouse "
                                                   f"{item.site.warehouse_id.code}")
        quantity = self.in_unit(item.event, quantity, line.move_id.product_uom)
        wizard = self.env['stock.return.picking'].with_context(
            active_id=receipt.id, active_ids=receipt.ids, active_model='stock.picking').create({'picking_id': receipt.id})
        for return_line in wizard.product_return_moves:
            return_line.quantity = quantity if return_line.move_id == line.move_id else 0
        returned = self.env['stock.picking'].browse(wizard.action_create_returns()['res_id'])
        move = returned.move_ids.filtered(lambda m: m.product_id == product)
        if move.move_line_ids.lot_id != lot:
            # the lot found nonconforming goes back, whatever the reservation proposed (as a person
            # picks it in the return's detailed operations)
            move.move_line_ids.unlink()
            self.env['stock.move.line'].create(dict(move._prepare_move_line_vals(quantity=move.product_uom_qty),
                                                    lot_id=lot.id))
        return returned

    def _use_as_is(self, item, nonconformance, approver, production, lot, result):
        """A concession: the holds on what is nonconforming are released by the approver."""
        if not approver:
            raise EventRejected('schema', "use_as_is needs 'approvedBy'")
        if not approver.has_group('plant_bridge.group_manager'):
            raise EventRejected('unauthorized', (
                f"{approver.name} may not approve using nonconforming goods as they are: "
                f"only Plant Bridge managers release quality holds"))
        Result = self.env['plant_bridge.quality.result']
        holds = result.filtered(lambda r: r.hold_state == 'held')
        if production or lot:
            holds |= Result.search(Result._held_domain(production, lot))
        for hold in holds:
            hold.message_post(body=self.env._("Used as is under nonconformance %(name)s (approved by %(user)s).",
                                              name=nonconformance.name, user=approver.name))
            hold.with_user(approver).action_release_hold()
