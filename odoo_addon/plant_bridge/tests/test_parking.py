from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestParking(PlantBridgeCase):
    """A rejected stock-moving event of an order holds the order's later stock-moving events
    (parked: deferred `parked_behind_rejection`, in the Exception Queue and the Order Trace)
    until it is replayed after a fix or discarded; they are then posted in their original order.
    A finish under a quality hold waits (deferred `quality_hold`) for the hold to be lifted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.env['res.users'].create({
            'name': 'PB Manager', 'login': 'pb_manager_parking',
            'group_ids': [(6, 0, cls.env.ref('plant_bridge.group_manager').ids)],
            'plant_bridge_site_ids': [(6, 0, cls.site.ids)]})

    def chair_move(self, mo):
        return mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_0269')

    def assertParked(self, result, production):
        self.assertEqual((result['status'], result.get('code')), ('deferred', 'parked_behind_rejection'),
                         result.get('message'))
        self.assertRecordValues(self.message_of(result), [{
            'state': 'deferred', 'error_code': 'parked_behind_rejection', 'production_id': production.id}])

    def test_finish_waits_behind_a_rejected_consumption_until_replayed(self):
        mo = self.mo_desk  # confirmed, 3 desks
        bad = self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=2, uom='Parsecs')
        self.assertEqual(bad['code'], 'bad_uom')
        produced = self.post_one('production', order=mo.name, quantity=3)
        finish = self.post_one('production', order=mo.name, quantity=0, finish=True)
        self.assertParked(produced, mo)
        self.assertParked(finish, mo)
        self.assertRecordValues(mo, [{'state': 'confirmed', 'qty_producing': 0.0}])
        # the Order Trace and the Exception Queue show the order's waiting events
        queue = self.Message.search([('production_id', '=', mo.id), ('state', 'in', ('rejected', 'deferred'))])
        self.assertEqual(queue, self.message_of(bad) | self.message_of(produced) | self.message_of(finish))
        # events that move no stock are not held
        started = self.post_one('workorder_status', order=mo.name, operation='Manual Assembly', status='started')
        self.assertEqual(started['status'], 'applied')
        # the sidecar's retry of a parked event waits again
        again = self.post(dict(self.message_of(finish)._get_event(), id=self.message_of(finish).key))[0]
        self.assertEqual((again['status'], again['code']), ('deferred', 'parked_behind_rejection'))

        # the operator fixes the unit and replays: the parked events follow, in their order
        message = self.message_of(bad).with_user(self.manager)
        message.payload = message.payload.replace('Parsecs', 'Units')
        message.action_replay_edited()
        self.assertRecordValues(self.message_of(bad) | self.message_of(produced) | self.message_of(finish), [
            {'state': 'applied'}, {'state': 'applied'}, {'state': 'applied'}])
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 3.0}])
        self.assertRecordValues(self.chair_move(mo), [{'quantity': 2.0, 'state': 'done'}])
        # the history says why they waited; the sidecar's next retry answers duplicate
        self.assertEqual(self.message_of(finish).failure_history[-1]['code'], 'parked_behind_rejection')
        again = self.post(dict(self.message_of(finish)._get_event(), id=self.message_of(finish).key))[0]
        self.assertEqual(again['status'], 'duplicate')

    def test_discarding_the_rejected_event_releases_the_rest(self):
        mo = self.mo_desk
        bad = self.post_one('scrap', order=mo.name, product='FURN_0269', quantity=1, lot='NO-SUCH-LOT')
        self.assertEqual(bad['code'], 'unknown_lot')
        consumed = self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=4)
        finish = self.post_one('production', order=mo.name, quantity=2, finish=True, backorder=False)
        self.assertParked(consumed, mo)
        self.assertParked(finish, mo)
        wizard = self.env['plant_bridge.message.discard'].with_user(self.manager).create({
            'message_ids': [(6, 0, [bad['message_id']])], 'reason': 'Counted twice on the line'})
        wizard.action_discard()
        self.assertRecordValues(self.message_of(consumed) | self.message_of(finish),
                                [{'state': 'applied'}, {'state': 'applied'}])
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 2.0}])
        # consumption applied before the finish: the plant's 4 chairs, not Odoo's proposal
        self.assertRecordValues(self.chair_move(mo), [{'quantity': 4.0, 'state': 'done'}])

    def test_a_parked_event_rejected_on_release_holds_the_next_ones_again(self):
        mo = self.mo_desk
        bad = self.post_one('consumption', order=mo.name, product='NOPE-P', quantity=1)
        self.assertEqual(bad['code'], 'unknown_product')
        worse = self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=1, uom='kg')
        finish = self.post_one('production', order=mo.name, quantity=3, finish=True)
        self.assertParked(worse, mo)
        self.assertParked(finish, mo)
        self.message_of(bad).with_user(self.manager)._discard('not ours')
        # released in order: the second consumption is refused on its own, the finish waits behind it
        self.assertRecordValues(self.message_of(worse), [{'state': 'rejected', 'error_code': 'bad_uom'}])
        self.assertParked({'status': 'deferred', 'code': self.message_of(finish).error_code,
                           'message_id': finish['message_id']}, mo)
        self.assertEqual(mo.state, 'confirmed')
        self.message_of(worse).with_user(self.manager)._discard('not ours either')
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 3.0}])

    def test_in_one_batch_later_events_wait_behind_a_rejection(self):
        mo = self.mo_desk
        results = self.post(
            self.event('consumption', order=mo.name, product='FURN_0269', quantity=1, uom='Parsecs'),
            self.event('production', order=mo.name, quantity=3, finish=True),
            self.event('quality', order=mo.name, test='Visual', result='pass'))
        self.assertEqual([(r['status'], r.get('code')) for r in results], [
            ('rejected', 'bad_uom'), ('deferred', 'parked_behind_rejection'), ('applied', None)])
        self.assertEqual(mo.state, 'confirmed')

    def test_refusals_of_the_site_setup_do_not_hold_the_order(self):
        mo = self.mo_desk
        self.site.sor_ids.filtered(lambda r: r.domain == 'consumption').owner = 'odoo'
        refused = self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=1)
        self.assertEqual(refused['code'], 'not_system_of_record')
        finish = self.post_one('production', order=mo.name, quantity=3, finish=True)
        self.assertEqual(finish['status'], 'applied', finish.get('message'))
        self.assertEqual(mo.state, 'done')

    def test_finish_under_a_quality_hold_waits_for_the_release(self):
        mo = self.mo_desk
        quality = self.assertApplied(self.post_one('quality', test='Leak test', result='fail', hold=True,
                                                   order=mo.name), 'plant_bridge.quality.result')
        finish = self.post_one('production', order=mo.name, quantity=3, finish=True)
        self.assertEqual((finish['status'], finish['code']), ('deferred', 'quality_hold'), finish.get('message'))
        self.assertRecordValues(self.message_of(finish), [{'state': 'deferred', 'error_code': 'quality_hold',
                                                           'production_id': mo.id}])
        # the hold is on the finish only: the order's other events go on (a person would go on
        # recording consumption too, and mark the order done once the hold is lifted)
        late = self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=5)
        self.assertEqual(late['status'], 'applied', late.get('message'))
        self.assertRecordValues(mo, [{'state': 'progress', 'qty_producing': 0.0}])
        quality.with_user(self.manager).action_release_hold()
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied', 'error_code': False}])
        self.assertEqual(self.message_of(finish).failure_history[-1]['code'], 'quality_hold')
        self.assertRecordValues(mo, [{'state': 'done', 'qty_produced': 3.0}])
        self.assertRecordValues(self.chair_move(mo), [{'quantity': 5.0, 'state': 'done'}])
