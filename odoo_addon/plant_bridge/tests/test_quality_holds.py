from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .differential import EVENTS, MANUAL, DifferentialCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestQualityHolds(DifferentialCase):
    """A hold on a lot keeps it out of other orders (reservation, consumption) and out of
    deliveries, whoever tries - a person in Odoo's screens or the plant; each refused attempt is
    recorded against the hold. Returns to the vendor and results on done orders are accepted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env['product.product']
        cls.resin = Product.create({'name': 'PB Resin', 'default_code': 'PB_RESIN', 'is_storable': True,
                                    'tracking': 'lot'})
        cls.part = Product.create({'name': 'PB Part', 'default_code': 'PB_PART', 'is_storable': True})
        cls.env['mrp.bom'].create({
            'product_tmpl_id': cls.part.product_tmpl_id.id, 'product_qty': 1,
            'bom_line_ids': [Command.create({'product_id': cls.resin.id, 'product_qty': 1})]})
        cls.warehouse = cls.site.warehouse_id
        cls.stock = cls.warehouse.lot_stock_id
        cls.held_lot = cls.env['stock.lot'].create({'name': 'PB-R1', 'product_id': cls.resin.id})
        cls.good_lot = cls.env['stock.lot'].create({'name': 'PB-R2', 'product_id': cls.resin.id})
        Quant = cls.env['stock.quant']
        # the held lot first: FIFO would take it before the other
        Quant._update_available_quantity(cls.resin, cls.stock, 5, lot_id=cls.held_lot)
        Quant._update_available_quantity(cls.resin, cls.stock, 5, lot_id=cls.good_lot)

    def hold(self, lot, **fields_):
        return self.assertApplied(self.post_one('quality', test='Viscosity', result='fail', hold=True,
                                                product=lot.product_id.default_code, lot=lot.name, **fields_),
                                  'plant_bridge.quality.result')

    def part_order(self, quantity=3):
        form = Form(self.env['mrp.production'])
        form.product_id = self.part
        form.product_qty = quantity
        production = form.save()
        production.action_confirm()
        return production

    def refused(self, action):
        """Run a button of Odoo's screens that a hold refuses; the refusal's record is written
        through a cursor of its own, here the test's (no savepoint around: it would roll the
        record back with the attempt)."""
        with self.enter_registry_test_mode():
            try:
                action()
            except UserError as e:
                return e
        self.fail("the quality hold did not refuse it")

    def delivery(self, product, lot, quantity):
        customers = self.env.ref('stock.stock_location_customers')
        picking = self.env['stock.picking'].create({
            'picking_type_id': self.warehouse.out_type_id.id,
            'location_id': self.stock.id, 'location_dest_id': customers.id,
            'move_ids': [Command.create({'product_id': product.id, 'product_uom_qty': quantity,
                                         'location_id': self.stock.id, 'location_dest_id': customers.id})],
        })
        picking.action_confirm()
        picking.move_ids.move_line_ids.unlink()
        self.env['stock.move.line'].create(dict(picking.move_ids._prepare_move_line_vals(quantity=quantity),
                                                lot_id=lot.id))
        picking.move_ids.picked = True
        return picking

    # ------------------------------------------------------------------ reservation
    def test_reservation_leaves_the_held_lot_out(self):
        self.hold(self.held_lot)
        production = self.part_order()
        production.action_assign()
        self.assertEqual([(line.lot_id, line.quantity) for line in production.move_raw_ids.move_line_ids],
                         [(self.good_lot, 3.0)])
        # a delivery does not reserve it either; it stays available for what the hold allows
        picking = self.env['stock.picking'].create({
            'picking_type_id': self.warehouse.out_type_id.id,
            'location_id': self.stock.id, 'location_dest_id': self.env.ref('stock.stock_location_customers').id,
            'move_ids': [Command.create({'product_id': self.resin.id, 'product_uom_qty': 4,
                                         'location_id': self.stock.id,
                                         'location_dest_id': self.env.ref('stock.stock_location_customers').id})],
        })
        picking.action_assign()
        self.assertEqual(picking.move_ids.move_line_ids.lot_id, self.good_lot)
        self.assertEqual(picking.move_ids.quantity, 2.0)  # 5 of the good lot, 3 reserved by the order

    # ------------------------------------------------------------------ consumption
    def test_plant_consumption_of_a_held_lot_refused_and_recorded(self):
        result = self.hold(self.held_lot)
        production = self.part_order()
        refused = self.post_one('consumption', order=production.name, product='PB_RESIN', quantity=3,
                                lot=self.held_lot.name)
        self.assertRejected(refused, 'quality_hold')
        self.assertNotIn(self.held_lot, production.move_raw_ids.move_line_ids.lot_id)
        self.assertRecordValues(result.block_ids, [{
            'operation': 'consumption', 'lot_id': self.held_lot.id, 'res_model': 'mrp.production',
            'res_id': production.id, 'res_name': production.display_name}])
        # the order's trace holds the refusal too
        self.assertEqual(self.message_of(refused).production_id, production)

    def test_consumption_in_the_mo_form_refused_and_recorded(self):
        result = self.hold(self.held_lot)
        production = self.part_order()
        self.form_produce(production, quantity=3)
        self.form_consume(production, 'PB_RESIN', 3, lot=self.held_lot.name)
        error = self.refused(lambda: self.mark_done(production))
        self.assertIn(self.held_lot.name, str(error))
        self.assertRecordValues(result.block_ids, [{
            'operation': 'consumption', 'lot_id': self.held_lot.id, 'res_model': 'mrp.production',
            'res_id': production.id, 'user_id': self.env.uid}])

    def test_held_order_may_consume_what_its_own_hold_names(self):
        """A hold recorded on an order for one of its component lots keeps the lot out of other
        orders, not out of the order it was found on (whose finish the hold already stops)."""
        production = self.part_order()
        self.hold(self.held_lot, order=production.name)
        self.assertApplied(self.post_one('consumption', order=production.name, product='PB_RESIN', quantity=3,
                                         lot=self.held_lot.name), 'stock.move')

    def test_finish_consuming_a_lot_held_since_waits_for_the_release(self):
        """The plant consumed lot R1, then R1 is found bad: the order's finish waits (Odoo would
        refuse Mark as Done) and completes when the hold is released."""
        production = self.part_order()
        self.assertApplied(self.post_one('consumption', order=production.name, product='PB_RESIN', quantity=3,
                                         lot=self.held_lot.name), 'stock.move')
        result = self.hold(self.held_lot)
        finish = self.post_one('production', order=production.name, quantity=3, finish=True)
        self.assertEqual((finish['status'], finish.get('code')), ('deferred', 'quality_hold'))
        self.assertNotEqual(production.state, 'done')
        result.action_release_hold()
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied'}])
        self.assertRecordValues(production, [{'state': 'done', 'qty_produced': 3.0}])

    def test_differential_held_lot_refused_then_another_lot(self):
        """R1 is on hold. By hand, the planner consumes R2 and marks the order done; the plant
        reports R1 first (refused `quality_hold`, discarded by the operator), then R2 and the
        finish: the same order in the end, and the refusal recorded on the hold."""
        Lot, Quant = self.env['stock.lot'], self.env['stock.quant']
        holds = {}
        for tag in (MANUAL, EVENTS):
            held = Lot.create({'name': tag + 'R1', 'product_id': self.resin.id})
            good = Lot.create({'name': tag + 'R2', 'product_id': self.resin.id})
            Quant._update_available_quantity(self.resin, self.stock, 5, lot_id=held)
            Quant._update_available_quantity(self.resin, self.stock, 5, lot_id=good)
            holds[tag] = self.hold(held)
        manual_mo, event_mo = self.twin_orders('PB_PART', 3)
        with self.story(manual_mo, MANUAL) as manual:
            self.form_produce(manual_mo, quantity=3)
            self.form_consume(manual_mo, 'PB_RESIN', 3, lot=MANUAL + 'R2')
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events:
            refused = self.post_one('consumption', order=event_mo.name, product='PB_RESIN', quantity=3,
                                    lot=EVENTS + 'R1')
            self.assertRejected(refused, 'quality_hold')
            self.discard(refused, "R1 is on hold: the line used R2")
            self.post_story(event_mo,
                            ('consumption', {'product': 'PB_RESIN', 'quantity': 3, 'lot': EVENTS + 'R2'}),
                            ('production', {'quantity': 3, 'finish': True}))
        self.assertSameOutcome(manual, events)
        self.assertEqual(holds[EVENTS].block_ids.res_id, event_mo.id)
        self.assertFalse(holds[MANUAL].block_ids)

    # ------------------------------------------------------------------ deliveries
    def test_delivery_refused_and_recorded(self):
        result = self.hold(self.held_lot)
        picking = self.delivery(self.resin, self.held_lot, 2)
        self.refused(picking.button_validate)
        self.assertRecordValues(result.block_ids, [{
            'operation': 'delivery', 'lot_id': self.held_lot.id, 'res_model': 'stock.picking',
            'res_id': picking.id, 'res_name': picking.name, 'user_id': self.env.uid}])
        result.action_release_hold()
        picking.button_validate()
        self.assertEqual(picking.state, 'done')

    def test_return_to_the_vendor_not_blocked(self):
        vendor = self.env['res.partner'].create({'name': 'PB Resin Supplier'})
        receipt = self.env['stock.picking'].create({
            'picking_type_id': self.warehouse.in_type_id.id, 'partner_id': vendor.id,
            'location_id': self.env.ref('stock.stock_location_suppliers').id, 'location_dest_id': self.stock.id,
            'move_ids': [Command.create({'product_id': self.resin.id, 'product_uom_qty': 4,
                                         'location_id': self.env.ref('stock.stock_location_suppliers').id,
                                         'location_dest_id': self.stock.id})],
        })
        receipt.action_confirm()
        received = self.env['stock.lot'].create({'name': 'PB-R3', 'product_id': self.resin.id})
        receipt.move_ids.move_line_ids.write({'lot_id': received.id, 'quantity': 4})
        receipt.move_ids.picked = True
        receipt.button_validate()
        self.hold(received)
        wizard = Form(self.env['stock.return.picking'].with_context(active_id=receipt.id,
                                                                    active_model='stock.picking')).save()
        returned = self.env['stock.picking'].browse(wizard.action_create_returns_all()['res_id'])
        self.assertEqual(returned.location_dest_id.usage, 'supplier')
        self.assertEqual(returned.move_ids.move_line_ids.lot_id, received)
        returned.move_ids.picked = True
        returned.button_validate()
        self.assertEqual(returned.state, 'done')

    # ------------------------------------------------------------------ done orders
    def test_quality_result_for_a_done_order_holds_its_lots(self):
        done = self.mo_done
        self.assertEqual(done.state, 'done')
        result = self.assertApplied(self.post_one('quality', test='Final inspection', result='fail', hold=True,
                                                  order=done.name), 'plant_bridge.quality.result')
        self.assertRecordValues(result, [{'production_id': done.id, 'hold_state': 'held'}])
        produced = done.lot_producing_ids
        self.assertTrue(produced)
        self.assertTrue(all(produced.mapped('plant_bridge_hold')))
        picking = self.delivery(done.product_id, produced[:1], 1)
        self.refused(picking.button_validate)
        self.assertRecordValues(result.block_ids, [{'operation': 'delivery', 'lot_id': produced[:1].id}])

    # ------------------------------------------------------------------ who sees a hold
    def test_hold_flag_of_a_lot_follows_the_users_sites(self):
        """Whether a lot is held is read through the holds the user may see (the quality results'
        site record rules), not with superuser rights: another plant's hold is not shown, users
        outside Plant Bridge do not read the flag at all; refusals still apply to everyone."""
        self.hold(self.held_lot)
        Site = self.env['plant_bridge.site']
        other = Site.create({'name': 'Other plant', 'code': 'hold_other', 'warehouse_id': self.env[
            'stock.warehouse'].create({'name': 'Other plant', 'code': 'HOTH'}).id})
        here = new_test_user(self.env, 'pb_hold_here', groups='plant_bridge.group_user,stock.group_stock_user')
        here.plant_bridge_site_ids = self.site
        elsewhere = new_test_user(self.env, 'pb_hold_elsewhere', groups='plant_bridge.group_user,stock.group_stock_user')
        elsewhere.plant_bridge_site_ids = other
        stock_only = new_test_user(self.env, 'pb_hold_stock_only', groups='stock.group_stock_user')
        Lot = self.env['stock.lot']
        self.assertTrue(self.held_lot.with_user(here).plant_bridge_hold)
        self.assertIn(self.held_lot, Lot.with_user(here).search([('plant_bridge_hold', '=', True)]))
        self.assertFalse(self.held_lot.with_user(elsewhere).plant_bridge_hold)
        self.assertNotIn(self.held_lot, Lot.with_user(elsewhere).search([('plant_bridge_hold', '=', True)]))
        with self.assertRaises(AccessError):
            self.held_lot.with_user(stock_only).read(['plant_bridge_hold'])
        # the hold still refuses a delivery by anyone
        picking = self.delivery(self.resin, self.held_lot, 1)
        self.refused(picking.button_validate)
