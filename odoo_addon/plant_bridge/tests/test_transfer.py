from odoo import Command
from odoo.tests import Form, tagged

from .differential import EVENTS, MANUAL, DifferentialCase, _lot


@tagged('post_install', '-at_install', 'plant_bridge')
class TestTransfer(DifferentialCase):
    """`transfer`: goods moved between locations, and the steps of a multi-step manufacturing
    route validated, as Odoo's own transfers do it (the picking form, Validate and its backorder
    wizard) - the same story by hand and as events, on a warehouse set to 3-step manufacturing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # what the settings switch on for multi-step routes, lots and packages (and the picking
        # form's fields a person needs)
        cls.env.user.group_ids += (cls.env.ref('stock.group_stock_multi_locations')
                                   + cls.env.ref('stock.group_adv_location')
                                   + cls.env.ref('stock.group_production_lot')
                                   + cls.env.ref('stock.group_tracking_lot'))
        cls.warehouse = cls.site.warehouse_id
        cls.warehouse.write({'manufacture_steps': 'pbm_sam'})
        Product = cls.env['product.product']
        cls.bolt = Product.create({'name': 'PB Bolt', 'default_code': 'PB_BOLT', 'is_storable': True,
                                   'barcode': '4000000000017'})
        cls.resin = Product.create({'name': 'PB Resin', 'default_code': 'PB_RESIN', 'is_storable': True,
                                    'tracking': 'lot'})
        cls.frame = Product.create({'name': 'PB Frame', 'default_code': 'PB_FRAME', 'is_storable': True})
        cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.frame.product_tmpl_id.id, 'product_qty': 1,
            'bom_line_ids': [Command.create({'product_id': cls.bolt.id, 'product_qty': 2})],
        })
        cls.stock = cls.warehouse.lot_stock_id
        cls.shelf = cls.env['stock.location'].create({'name': 'PB Shelf', 'location_id': cls.stock.id,
                                                      'barcode': 'PB-SHELF'})
        Quant = cls.env['stock.quant']
        Quant._update_available_quantity(cls.bolt, cls.stock, 100)
        for tag in (MANUAL, EVENTS):
            Quant._update_available_quantity(cls.resin, cls.stock, 10, lot_id=cls.env['stock.lot'].create(
                {'name': tag + 'R1', 'product_id': cls.resin.id}))

    # ------------------------------------------------------------------ helpers
    def pickings_of(self, production):
        pickings = production.picking_ids
        return pickings | self.env['stock.picking'].search([('backorder_id', 'in', pickings.ids)])

    def picking_snapshot(self, pickings, tag):
        """What a person compares on the transfers: type, state, locations, moves, lines."""
        return sorted(
            (p.picking_type_id.sequence_code, p.state, p.location_id.complete_name,
             p.location_dest_id.complete_name, bool(p.backorder_id),
             tuple(sorted((m.product_id.default_code, m.product_uom_qty, m.quantity, m.state, m.picked)
                          for m in p.move_ids)),
             tuple(sorted((ml.product_id.default_code, _lot(ml.lot_id, tag), ml.quantity,
                           ml.location_id.complete_name, ml.location_dest_id.complete_name, ml.picked)
                          for ml in p.move_line_ids)))
            for p in pickings)

    def quant_deltas(self, before, tag):
        self.env.flush_all()
        self.env.invalidate_all()
        after = self._quants(tag)
        return sorted((key, round(after.get(key, 0.0) - before.get(key, 0.0), 6))
                      for key in set(before) | set(after)
                      if abs(after.get(key, 0.0) - before.get(key, 0.0)) > 1e-9)

    def form_validate(self, picking, picked=None, backorder=True):
        """The transfer's form: Check Availability, the quantity picked of each product typed
        (ticking Picked), Validate, and the backorder wizard answered."""
        if picking.state in ('confirmed', 'waiting'):
            picking.action_assign()
        if picked:
            with Form(picking) as form:
                for index in range(len(form.move_ids)):
                    with form.move_ids.edit(index) as move:
                        code = move.product_id.default_code
                        if code in picked:
                            move.quantity = picked[code]  # Validate then ticks Picked
        action = picking.button_validate()
        if isinstance(action, dict) and action.get('res_model') == 'stock.backorder.confirmation':
            wizard = Form(self.env['stock.backorder.confirmation'].with_context(**action['context'])).save()
            wizard.process() if backorder else wizard.process_cancel_backorder()

    def pick_components(self, production):
        return production.picking_ids.filtered(lambda p: p.picking_type_id == self.warehouse.pbm_type_id)

    # ------------------------------------------------------------------ a move between locations
    def test_move_between_locations_as_an_internal_transfer(self):
        """A scanned move of a lot from stock to a shelf: the internal transfer a person makes
        (New, the line, its lot in Detailed Operations, Validate)."""
        outcomes = {}
        for tag in (MANUAL, EVENTS):
            before = self._quants(tag)
            lot = self.env['stock.lot'].search([('name', '=', tag + 'R1')])
            if tag == MANUAL:
                form = Form(self.env['stock.picking'].with_context(
                    default_picking_type_id=self.warehouse.int_type_id.id))
                form.location_id = self.stock
                form.location_dest_id = self.shelf
                with form.move_ids.new() as move:
                    move.product_id = self.resin
                    move.product_uom_qty = 4
                picking = form.save()
                picking.action_confirm()
                with Form(picking.move_ids, view='stock.view_stock_move_operations') as move_form:
                    while len(move_form.move_line_ids):
                        move_form.move_line_ids.remove(0)
                    with move_form.move_line_ids.new() as line:
                        line.lot_id = lot
                        line.quantity = 4
                picking.move_ids.picked = True
                self.assertIs(picking.button_validate(), True)
            else:
                result = self.post_one('transfer', product='PB_RESIN', quantity=4, lot=lot.name,
                                       **{'from': 'WH/Stock', 'to': 'PB-SHELF'})
                picking = self.assertApplied(result, 'stock.picking')
            outcomes[tag] = (self.picking_snapshot(picking, tag), self.quant_deltas(before, tag))
        self.assertEqual(outcomes[EVENTS], outcomes[MANUAL])
        self.assertEqual(outcomes[EVENTS][1], [
            (('PB_RESIN', 'WH/Stock', '*R1'), -4.0), (('PB_RESIN', 'WH/Stock/PB Shelf', '*R1'), 4.0)])

    # ------------------------------------------------------------------ an order's steps
    def test_pick_components_partly_with_a_backorder(self):
        """3-step route: 6 of the 10 bolts picked for the order; Validate, Create Backorder."""
        manual, events = self.twin_orders('PB_FRAME', 5)
        with self.story(manual, MANUAL) as by_hand:
            self.form_validate(self.pick_components(manual), {'PB_BOLT': 6})
            by_hand.snapshot_pickings = self.picking_snapshot(self.pickings_of(manual), MANUAL)
        with self.story(events, EVENTS) as as_events:
            result = self.post_one('transfer', order=events.name, step='pick_components',
                                   lines=[{'product': '4000000000017', 'quantity': 6}])  # the bolt's barcode
            self.assertApplied(result, 'stock.picking')
            as_events.snapshot_pickings = self.picking_snapshot(self.pickings_of(events), EVENTS)
        self.assertSameOutcome(by_hand, as_events)
        self.assertEqual(as_events.snapshot_pickings, by_hand.snapshot_pickings)
        backorder = self.pickings_of(events).filtered('backorder_id')
        self.assertEqual(backorder.move_ids.product_uom_qty, 4.0)

    def test_pick_components_partly_without_backorder(self):
        manual, events = self.twin_orders('PB_FRAME', 5)
        with self.story(manual, MANUAL) as by_hand:
            self.form_validate(self.pick_components(manual), {'PB_BOLT': 6}, backorder=False)
            by_hand.snapshot_pickings = self.picking_snapshot(self.pickings_of(manual), MANUAL)
        with self.story(events, EVENTS) as as_events:
            self.assertApplied(self.post_one('transfer', order=events.name, step='pick_components', backorder=False,
                                             lines=[{'product': 'PB_BOLT', 'quantity': 6}]), 'stock.picking')
            as_events.snapshot_pickings = self.picking_snapshot(self.pickings_of(events), EVENTS)
        self.assertSameOutcome(by_hand, as_events)
        self.assertEqual(as_events.snapshot_pickings, by_hand.snapshot_pickings)
        self.assertFalse(self.pickings_of(events).filtered('backorder_id'))

    def test_whole_pick_by_name_then_store_finished_by_order(self):
        """The pick as reserved (by the transfer's name), produce, then the finished goods to stock."""
        manual, events = self.twin_orders('PB_FRAME', 2)
        with self.story(manual, MANUAL) as by_hand:
            self.form_validate(self.pick_components(manual))
            self.form_produce(manual, 2)
            self.mark_done(manual)
            store = manual.picking_ids.filtered(lambda p: p.picking_type_id == self.warehouse.sam_type_id)
            self.form_validate(store)
            by_hand.snapshot_pickings = self.picking_snapshot(self.pickings_of(manual), MANUAL)
        with self.story(events, EVENTS) as as_events:
            self.assertApplied(self.post_one('transfer', picking=self.pick_components(events).name), 'stock.picking')
            self.post_story(events, ('production', {'quantity': 2, 'finish': True}))
            self.assertApplied(self.post_one('transfer', order=events.name, step='store_finished'), 'stock.picking')
            as_events.snapshot_pickings = self.picking_snapshot(self.pickings_of(events), EVENTS)
        self.assertSameOutcome(by_hand, as_events)
        self.assertEqual(as_events.snapshot_pickings, by_hand.snapshot_pickings)
        self.assertEqual(set(self.pickings_of(events).mapped('state')), {'done'})

    def test_consumption_takes_components_from_the_staging_location(self):
        """Components picked to pre-production (a lot) are consumed from there."""
        bom = self.env['mrp.bom'].create({
            'product_tmpl_id': self.frame.product_tmpl_id.id, 'product_qty': 1, 'sequence': 1,
            'bom_line_ids': [Command.create({'product_id': self.resin.id, 'product_qty': 1})],
        })
        form = Form(self.env['mrp.production'])
        form.product_id = self.frame
        form.bom_id = bom
        form.product_qty = 3
        production = form.save()
        production.action_confirm()
        self.assertApplied(self.post_one('transfer', order=production.name, step='pick_components',
                                         lines=[{'product': 'PB_RESIN', 'quantity': 3, 'lot': EVENTS + 'R1'}]),
                           'stock.picking')
        staging = self.warehouse.pbm_loc_id
        self.assertEqual(production.location_src_id, staging)
        result = self.post_one('consumption', order=production.name, product='PB_RESIN', quantity=3,
                               lot=EVENTS + 'R1')
        self.assertEqual(result['status'], 'applied', result.get('message'))
        lines = production.move_raw_ids.move_line_ids
        self.assertRecordValues(lines, [{'lot_id': self.env['stock.lot'].search([('name', '=', EVENTS + 'R1')]).id,
                                         'quantity': 3.0, 'location_id': staging.id}])

    # ------------------------------------------------------------------ refusals
    def test_unknown_scans_are_coded_rejections(self):
        production = self.twin_orders('PB_FRAME', 1)[0]
        move = {'product': 'PB_RESIN', 'quantity': 1, 'lot': EVENTS + 'R1', 'from': 'WH/Stock', 'to': 'PB-SHELF'}
        for fields_, code in [
            (dict(move, product='NO-SUCH-BARCODE'), 'unknown_product'),
            (dict(move, lot='NO-SUCH-LOT'), 'unknown_lot'),
            (dict(move, lot=None), 'unknown_lot'),
            (dict(move, to='WH/Nowhere'), 'unknown_location'),
            (dict(move, package='NO-SUCH-PACKAGE'), 'unknown_package'),
            (dict(move, uom='kg'), 'bad_uom'),
            ({'picking': 'WH/PC/99999'}, 'unknown_picking'),
            ({'order': 'WH/MO/99999', 'step': 'pick_components'}, 'unknown_order'),
            ({'order': production.name, 'step': 'pick_components',
              'lines': [{'product': 'PB_RESIN', 'quantity': 1, 'lot': EVENTS + 'R1'}]}, 'state_conflict'),
            ({'order': production.name, 'step': 'pick_components', 'lines': [{'product': 'PB_BOLT', 'quantity': -1}]},
             'bad_quantity'),
        ]:
            with self.subTest(fields=fields_):
                result = self.post_one('transfer', **{k: v for k, v in fields_.items() if v is not None})
                self.assertRejected(result, code)
        # nothing moved by the refusals
        self.assertNotEqual(self.pick_components(production).state, 'done')
        self.assertFalse(self.env['stock.quant'].search([('location_id', '=', self.shelf.id)]))

    def test_done_transfer_and_one_step_route(self):
        # a 1-step warehouse has no such transfer
        self.warehouse.write({'manufacture_steps': 'mrp_one_step'})
        one_step = self.new_mo()
        self.assertRejected(self.post_one('transfer', order=one_step.name, step='pick_components'),
                            'unknown_picking')
        self.warehouse.write({'manufacture_steps': 'pbm_sam'})
        production = self.twin_orders('PB_FRAME', 1)[0]
        self.assertApplied(self.post_one('transfer', order=production.name, step='pick_components'), 'stock.picking')
        # the order's pick is done: another validation of that step finds nothing open
        self.assertRejected(self.post_one('transfer', order=production.name, step='pick_components'),
                            'state_conflict')
        self.assertRejected(self.post_one('transfer', picking=self.pick_components(production).name),
                            'state_conflict')

    def test_package_moved_whole_or_taken_from(self):
        """A whole package scanned to a shelf travels with its goods; part of one is taken out."""
        Quant, Package = self.env['stock.quant'], self.env['stock.package']
        pallet, crate = Package.create({'name': 'PB-PALLET'}), Package.create({'name': 'PB-CRATE'})
        Quant._update_available_quantity(self.bolt, self.stock, 8, package_id=pallet)
        Quant._update_available_quantity(self.bolt, self.stock, 8, package_id=crate)
        for package, quantity in ((pallet, 8), (crate, 3)):
            self.assertApplied(self.post_one('transfer', product='PB_BOLT', quantity=quantity, package=package.name,
                                             **{'from': 'WH/Stock', 'to': 'PB-SHELF'}), 'stock.picking')
        at_shelf = Quant.search([('location_id', '=', self.shelf.id), ('product_id', '=', self.bolt.id)])
        self.assertEqual(sorted((q.package_id.name or '', q.quantity) for q in at_shelf),
                         [('', 3.0), ('PB-PALLET', 8.0)])
        self.assertEqual(Quant._get_available_quantity(self.bolt, self.stock, package_id=crate, strict=True), 5.0)

    def test_idempotent_by_event_id(self):
        event = self.event('transfer', product='PB_BOLT', quantity=5, **{'from': 'WH/Stock', 'to': 'PB-SHELF'})
        first, again = self.post(event)[0], self.post(dict(event))[0]
        picking = self.assertApplied(first, 'stock.picking')
        self.assertEqual(again['status'], 'duplicate')
        self.assertEqual(self.env['stock.picking'].search_count([('location_dest_id', '=', self.shelf.id)]), 1)
        self.assertEqual(picking.state, 'done')
        self.assertEqual(self.env['stock.quant']._get_available_quantity(self.bolt, self.shelf), 5.0)
