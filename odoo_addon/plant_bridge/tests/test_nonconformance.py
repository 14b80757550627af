from odoo import Command
from odoo.tests import Form, new_test_user, tagged

from .differential import EVENTS, MANUAL, DifferentialCase


def _tagless(name, tag):
    return name.replace(tag, '*') if name else name


def moves_snapshot(moves, tag):
    """What a user checks of stock moves: product, quantity, unit, locations, state, and their
    lines' lots and quantities - free of ids and of the twins' tags."""
    return sorted(
        (move.product_id.default_code, move.product_uom_qty, move.quantity, move.product_uom.name,
         move.location_id.complete_name, move.location_dest_id.complete_name, move.state,
         tuple(sorted((_tagless(line.lot_id.name, tag), line.quantity, line.location_id.complete_name,
                       line.location_dest_id.complete_name) for line in move.move_line_ids)))
        for move in moves)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestNonconformance(DifferentialCase):
    """`nonconformance`: each disposition is the operation a person does in Odoo's own screens -
    scrap (the Scrap form), rework (the Unbuild form, or a rework order from a rework bill of
    materials), use as is (the hold released by the approving manager), return to the supplier
    (the Return wizard on the receipt) - compared twin against twin."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env['product.product']
        cls.widget = Product.create({'name': 'PB Widget', 'default_code': 'PB_WIDGET', 'is_storable': True,
                                     'tracking': 'lot'})
        cls.pin = Product.create({'name': 'PB Pin', 'default_code': 'PB_PIN', 'is_storable': True})
        cls.rod = Product.create({'name': 'PB Rod', 'default_code': 'PB_ROD', 'is_storable': True,
                                  'tracking': 'lot'})
        cls.bom = cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.widget.product_tmpl_id.id, 'product_qty': 1,
            'bom_line_ids': [Command.create({'product_id': cls.pin.id, 'product_qty': 2})]})
        cls.rework_bom = cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.widget.product_tmpl_id.id, 'product_qty': 1, 'code': 'RW-WIDGET',
            'bom_line_ids': [Command.create({'product_id': cls.rod.id, 'product_qty': 1})]})
        cls.warehouse = cls.site.warehouse_id
        cls.stock = cls.warehouse.lot_stock_id
        cls.env['stock.quant']._update_available_quantity(cls.pin, cls.stock, 100)
        cls.vendor = cls.env['res.partner'].create({'name': 'PB Rod Supplier'})
        cls.manager = new_test_user(cls.env, 'pb_nc_manager', groups='plant_bridge.group_manager')
        cls.inspector = new_test_user(cls.env, 'pb_nc_inspector', groups='plant_bridge.group_user')

    # ------------------------------------------------------------------ helpers
    def widgets_in_stock(self, name, quantity=5):
        lot = self.lot(self.widget, name)
        self.env['stock.quant']._update_available_quantity(self.widget, self.stock, quantity, lot_id=lot)
        return lot

    def done_order(self, lot_name, quantity=3):
        """A widget order made and marked done in the MO form, under `lot_name`."""
        form = Form(self.env['mrp.production'])
        form.product_id = self.widget
        form.bom_id = self.bom
        form.product_qty = quantity
        production = form.save()
        production.action_confirm()
        self.form_produce(production, quantity=quantity, lot=lot_name)
        self.mark_done(production)
        self.assertEqual(production.state, 'done')
        return production

    def received(self, lot_name, quantity=4):
        """Rods of lot `lot_name` received from the supplier (a receipt validated)."""
        suppliers = self.env.ref('stock.stock_location_suppliers')
        receipt = self.env['stock.picking'].create({
            'picking_type_id': self.warehouse.in_type_id.id, 'partner_id': self.vendor.id,
            'location_id': suppliers.id, 'location_dest_id': self.stock.id,
            'move_ids': [Command.create({'product_id': self.rod.id, 'product_uom_qty': quantity,
                                         'location_id': suppliers.id, 'location_dest_id': self.stock.id})],
        })
        receipt.action_confirm()
        receipt.move_ids.move_line_ids.write({'lot_id': self.lot(self.rod, lot_name).id, 'quantity': quantity})
        receipt.move_ids.picked = True
        receipt.button_validate()
        self.assertEqual(receipt.state, 'done')
        return receipt

    def hold(self, lot):
        return self.assertApplied(self.post_one('quality', test='Porosity', result='fail', hold=True,
                                                product=lot.product_id.default_code, lot=lot.name),
                                  'plant_bridge.quality.result')

    def nonconformance(self, **fields_):
        fields_.setdefault('defect', 'porosity')
        return self.post_one('nonconformance', **fields_)

    # ------------------------------------------------------------------ scrap
    def test_scrap_as_the_scrap_form(self):
        manual_lot, event_lot = self.widgets_in_stock('M-W1'), self.widgets_in_stock('E-W1')
        with Form(self.env['stock.scrap']) as form:
            form.product_id = self.widget
            form.lot_id = manual_lot
            form.scrap_qty = 2
            form.scrap_reason_tag_ids.add(self.env['stock.scrap.reason.tag'].create({'name': 'porosity'}))
        manual = form.record
        self.assertIs(manual.action_validate(), True)

        result = self.hold(event_lot)
        nc = self.assertApplied(self.nonconformance(product='PB_WIDGET', lot='E-W1', quantity=2,
                                                    disposition='scrap'), 'plant_bridge.nonconformance')
        scrap = nc.scrap_id
        self.assertRecordValues(nc, [{'disposition': 'scrap', 'lot_id': event_lot.id, 'product_id': self.widget.id,
                                      'quantity': 2, 'quality_result_id': result.id, 'hold_state': 'held'}])
        for field in ('product_id', 'scrap_qty', 'product_uom_id', 'location_id', 'scrap_location_id', 'state',
                      'scrap_reason_tag_ids', 'company_id'):
            self.assertEqual(scrap[field], manual[field], field)
        self.assertEqual(moves_snapshot(scrap.move_ids, EVENTS), moves_snapshot(manual.move_ids, MANUAL))
        self.assertEqual(event_lot.product_qty, manual_lot.product_qty)
        # the trace row names the lot; the lot's genealogy shows where it went
        self.assertRecordValues(self.Message.search([('res_model', '=', 'plant_bridge.nonconformance')]),
                                [{'lot_id': event_lot.id, 'product_id': self.widget.id}])
        lot = self.api.read_lots('main', ['E-W1'])[0]
        self.assertEqual([(u['kind'], u['reference'], u['quantity']) for u in lot['used_in']],
                         [('scrap', scrap.name, 2.0)])
        self.assertEqual([(n['defect'], n['disposition'], n['reference']) for n in lot['nonconformances']],
                         [('porosity', 'scrap', scrap.name)])

    # ------------------------------------------------------------------ rework
    def test_rework_as_the_unbuild_form(self):
        manual_mo, event_mo = self.done_order('M-W2'), self.done_order('E-W2')
        with Form(self.env['mrp.unbuild']) as form:
            form.mo_id = manual_mo
            form.lot_id = self.lot(self.widget, 'M-W2')
            form.product_qty = 1
        manual = form.record
        manual.action_validate()

        nc = self.assertApplied(self.nonconformance(order=event_mo.name, lot='E-W2', quantity=1, disposition='rework'),
                                'plant_bridge.nonconformance')
        unbuild = nc.unbuild_id
        self.assertRecordValues(unbuild, [{'state': 'done', 'mo_id': event_mo.id, 'product_qty': 1,
                                           'bom_id': manual.bom_id.id, 'location_id': manual.location_id.id,
                                           'location_dest_id': manual.location_dest_id.id}])
        self.assertEqual(moves_snapshot(unbuild.consume_line_ids, EVENTS), moves_snapshot(manual.consume_line_ids, MANUAL))
        self.assertEqual(moves_snapshot(unbuild.produce_line_ids, EVENTS), moves_snapshot(manual.produce_line_ids, MANUAL))
        self.assertEqual(self.lot(self.widget, 'E-W2').product_qty, self.lot(self.widget, 'M-W2').product_qty)
        # the order's trace links it
        self.assertEqual(self.Message.search([('res_model', '=', 'plant_bridge.nonconformance')]).production_id, event_mo)
        lot = self.api.read_lots('main', ['E-W2'])[0]
        self.assertIn(('unbuild', unbuild.name, 1.0), [(u['kind'], u['reference'], u['quantity']) for u in lot['used_in']])

    def test_rework_order_from_a_rework_bill_of_materials(self):
        produced = self.done_order('E-W3')
        form = Form(self.env['mrp.production'])
        form.product_id = self.widget
        form.bom_id = self.rework_bom
        form.product_qty = 2
        manual = form.save()
        manual.action_confirm()
        nc = self.assertApplied(self.nonconformance(order=produced.name, lot='E-W3', quantity=2, disposition='rework',
                                                    bom='RW-WIDGET'), 'plant_bridge.nonconformance')
        rework = nc.rework_production_id
        self.assertRecordValues(rework, [{'state': manual.state, 'bom_id': self.rework_bom.id, 'product_qty': 2,
                                          'product_id': self.widget.id, 'picking_type_id': manual.picking_type_id.id,
                                          'location_src_id': manual.location_src_id.id, 'origin': produced.name}])
        self.assertEqual(moves_snapshot(rework.move_raw_ids, EVENTS), moves_snapshot(manual.move_raw_ids, MANUAL))
        # one found on the lot alone shows on the Order Trace of the order that produced it
        self.assertApplied(self.nonconformance(product='PB_WIDGET', lot='E-W3', quantity=1, disposition='scrap'),
                           'plant_bridge.nonconformance')
        self.assertEqual(self.Message.search([('res_model', '=', 'plant_bridge.nonconformance')]).production_id,
                         produced)

    def test_rework_order_takes_the_held_lot_it_reworks(self):
        """Held rods are reworked into widgets: the rework order takes that lot despite the hold
        (the hold keeps it out of every other order) and completes."""
        self.received('E-R2')
        held = self.lot(self.rod, 'E-R2')
        self.hold(held)
        other = Form(self.env['mrp.production'])
        other.product_id = self.widget
        other.bom_id = self.rework_bom
        other.product_qty = 1
        other = other.save()
        other.action_confirm()
        self.assertFalse(other.move_raw_ids.move_line_ids.lot_id & held)
        nc = self.assertApplied(self.nonconformance(product='PB_ROD', lot='E-R2', quantity=1, disposition='rework',
                                                    bom='RW-WIDGET'), 'plant_bridge.nonconformance')
        rework = nc.rework_production_id
        self.assertEqual(rework.move_raw_ids.move_line_ids.lot_id, held)
        self.assertEqual(rework.move_raw_ids.move_line_ids.quantity, 1)
        self.form_produce(rework, quantity=1, lot='E-W6')
        self.mark_done(rework)
        self.assertEqual(rework.state, 'done')
        self.assertEqual(held.product_qty, 3)
        self.assertEqual(nc.hold_state, 'held')

    # ------------------------------------------------------------------ return
    def test_return_as_the_return_wizard(self):
        manual_receipt, event_receipt = self.received('M-R1'), self.received('E-R1')
        wizard = Form(self.env['stock.return.picking'].with_context(
            active_id=manual_receipt.id, active_ids=manual_receipt.ids, active_model='stock.picking'))
        with wizard.product_return_moves.edit(0) as line:
            line.quantity = 3
        manual = self.env['stock.picking'].browse(wizard.save().action_create_returns()['res_id'])

        self.hold(self.lot(self.rod, 'E-R1'))
        nc = self.assertApplied(self.nonconformance(product='PB_ROD', lot='E-R1', quantity=3, disposition='return'),
                                'plant_bridge.nonconformance')
        returned = nc.return_picking_id
        self.assertRecordValues(returned, [{
            'return_id': event_receipt.id, 'picking_type_id': manual.picking_type_id.id, 'state': manual.state,
            'partner_id': self.vendor.id, 'location_id': manual.location_id.id,
            'location_dest_id': manual.location_dest_id.id, 'origin': f"Return of {event_receipt.name}"}])
        self.assertEqual(moves_snapshot(returned.move_ids, EVENTS), moves_snapshot(manual.move_ids, MANUAL))
        # nothing blocks sending it back (a hold does not block returns to the vendor)
        returned.button_validate()
        self.assertEqual(returned.state, 'done')

    # ------------------------------------------------------------------ use as is
    def test_use_as_is_releases_the_hold_in_the_approvers_name(self):
        form = Form(self.env['mrp.production'])
        form.product_id = self.widget
        form.bom_id = self.bom
        form.product_qty = 1
        production = form.save()
        production.action_confirm()
        quality = self.post(self.event('quality', id='qe-hold', test='Flatness', result='fail', hold=True,
                                       order=production.name))[0]
        result = self.assertApplied(quality, 'plant_bridge.quality.result')
        finish = self.post(self.event('production', order=production.name, quantity=1, lot='E-W9', finish=True))[0]
        self.assertEqual((finish['status'], finish['code']), ('deferred', 'quality_hold'))
        self.assertRejected(self.nonconformance(order=production.name, quantity=1, disposition='use_as_is',
                                                approvedBy='pb_nc_inspector'), 'unauthorized')
        self.assertEqual(result.hold_state, 'held')
        nc = self.assertApplied(self.nonconformance(order=production.name, quantity=1, disposition='use_as_is',
                                                    approvedBy='pb_nc_manager', qualityEvent='qe-hold'),
                                'plant_bridge.nonconformance')
        self.assertRecordValues(nc, [{'approved_by_id': self.manager.id, 'quality_result_id': result.id,
                                      'hold_state': 'released'}])
        self.assertRecordValues(result, [{'hold_state': 'released', 'released_by_id': self.manager.id}])
        # the finish that waited for the hold is posted: the order completes
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied'}])
        self.assertEqual(production.state, 'done')

    def test_links_the_quality_event_named(self):
        lot = self.widgets_in_stock('E-W4')
        first = self.post(self.event('quality', id='qe-1', test='Porosity', result='fail', product='PB_WIDGET',
                                     lot='E-W4'))[0]
        self.post_one('quality', test='Porosity', result='fail', product='PB_WIDGET', lot='E-W4')
        nc = self.assertApplied(self.nonconformance(product='PB_WIDGET', lot='E-W4', quantity=1, disposition='scrap',
                                                    qualityEvent='qe-1'), 'plant_bridge.nonconformance')
        self.assertEqual(nc.quality_result_id.id, first['ref']['id'])
        self.assertEqual(lot.product_qty, 4)

    # ------------------------------------------------------------------ refused
    def test_rejections(self):
        self.widgets_in_stock('E-W5')
        open_mo = self.new_mo('mrp.product_product_computer_desk', qty=1)
        ok = dict(product='PB_WIDGET', lot='E-W5', quantity=1)
        self.assertRejected(self.nonconformance(order='WH/MO/404', quantity=1, disposition='scrap'), 'unknown_order')
        self.assertRejected(self.nonconformance(**dict(ok, product='NOPE'), disposition='scrap'), 'unknown_product')
        self.assertRejected(self.nonconformance(**dict(ok, lot='NOPE'), disposition='scrap'), 'unknown_lot')
        self.assertRejected(self.nonconformance(order=open_mo.name, operation='Nope', quantity=1, disposition='scrap'),
                            'unknown_operation')
        self.assertRejected(self.nonconformance(**ok, disposition='use_as_is', approvedBy='nobody'), 'unknown_operator')
        self.assertRejected(self.nonconformance(**ok, disposition='use_as_is'), 'schema')
        self.assertRejected(self.nonconformance(**ok, disposition='bury'), 'schema')
        self.assertRejected(self.nonconformance(**dict(ok, quantity=0), disposition='scrap'), 'bad_quantity')
        self.assertRejected(self.nonconformance(**dict(ok, quantity=-1), disposition='scrap'), 'bad_quantity')
        self.assertRejected(self.nonconformance(**ok, disposition='scrap', uom='Nope'), 'bad_uom')
        self.assertRejected(self.nonconformance(**ok, disposition='scrap', qualityEvent='never-sent'), 'state_conflict')
        self.assertRejected(self.nonconformance(**ok, disposition='scrap', location='WH/Nowhere'), 'unknown_location')
        self.assertRejected(self.nonconformance(order=open_mo.name, quantity=1, disposition='rework'), 'state_conflict')
        self.assertRejected(self.nonconformance(**ok, disposition='rework', bom='RW-NOPE'), 'unknown_product')
        self.assertRejected(self.nonconformance(**ok, disposition='return'), 'unknown_picking')
        self.assertRejected(self.nonconformance(quantity=1, disposition='scrap'), 'schema')
        self.assertFalse(self.env['plant_bridge.nonconformance'].search([]))
        self.assertEqual(self.lot(self.widget, 'E-W5').product_qty, 5)
