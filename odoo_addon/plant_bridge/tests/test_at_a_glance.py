from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import PlantBridgeCase


class GlanceCase(PlantBridgeCase):

    def queries(self, records, fields_):
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        records.with_user(self.pb_user).read(fields_)
        return self.env.cr.sql_log_count - before

    def assertConstantQueries(self, records, fields_):
        """A list of records is computed in the queries of one record (read groups, not a search
        per record)."""
        self.queries(records, fields_)  # warm the access caches
        one, many = self.queries(records[:1], fields_), self.queries(records, fields_)
        # a few more at most (the producing orders of the lots that have one), never one per record
        self.assertGreaterEqual(len(records), 10)
        self.assertLessEqual(many, one + 3, f"{len(records)} records: {many} queries, one record: {one}")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pb_user = new_test_user(cls.env, login='pb_glance_user',
                                    groups='base.group_user,mrp.group_mrp_user,stock.group_production_lot,'
                                           'plant_bridge.group_user')
        cls.pb_user.plant_bridge_site_ids = cls.site
        cls.other_site = cls.env['plant_bridge.site'].create({
            'name': 'Other plant', 'code': 'other', 'warehouse_id': cls.site.warehouse_id.id})

    def foreign_rejection(self, **links):
        """A rejected event of a site the user may not see."""
        return self.Message.sudo().create({
            'key': f'foreign-{len(links)}-{list(links.values())[0]}', 'site_id': self.other_site.id,
            'event_type': 'downtime', 'state': 'rejected', 'error_code': 'unknown_product', **links})


@tagged('post_install', '-at_install', 'plant_bridge')
class TestWorkcenterGlance(GlanceCase):
    """On the work center form: what the plant last said about it, what failed, its open downtime,
    the sites it reports to, with one click to its events and its exceptions."""

    FIELDS = ['plant_bridge_last_event_at', 'plant_bridge_last_event_type', 'plant_bridge_last_event_state',
              'plant_bridge_exception_count', 'plant_bridge_message_count', 'plant_bridge_site_ids',
              'plant_bridge_open_downtime_id']

    def status(self, workcenter):
        workcenter.invalidate_recordset()
        return workcenter.with_user(self.pb_user).read(self.FIELDS)[0]

    def test_last_event_exceptions_downtime_sites(self):
        wc = self.assembly_2
        wc.plant_bridge_auto_downtime = True
        self.assertEqual(self.status(wc)['plant_bridge_message_count'], 0)
        self.assertApplied(self.post_one('machine_status', workcenter=wc.name, status='down',
                                         occurredAt='2026-11-26T09:00:00+00:00'), 'mrp.workcenter')
        rejected = self.post_one('downtime', workcenter=wc.name, reason='No such reason at all',
                                 start='2026-11-26T09:30:00+00:00', end='2026-11-26T09:40:00+00:00')
        self.assertEqual(rejected['status'], 'rejected', rejected)
        self.foreign_rejection(workcenter_id=wc.id)
        status = self.status(wc)
        last = self.message_of(rejected)
        self.assertEqual((status['plant_bridge_last_event_type'], status['plant_bridge_last_event_state']),
                         ('downtime', 'rejected'), "the last event received, whatever became of it")
        self.assertEqual(status['plant_bridge_last_event_at'], last.occurred_at)
        self.assertEqual(status['plant_bridge_exception_count'], 1, "the other site's rejection is not counted")
        self.assertEqual(status['plant_bridge_message_count'], 2)
        self.assertEqual(status['plant_bridge_site_ids'], self.site.ids)
        self.assertTrue(status['plant_bridge_open_downtime_id'], "the machine is down: its interval is open")

        queue = wc.with_user(self.pb_user).action_plant_bridge_exceptions()
        self.assertEqual((queue['tag'], queue['context']['plant_bridge_workcenter_id']),
                         ('plant_bridge.exception_queue', wc.id))
        events = wc.with_user(self.pb_user).action_plant_bridge_messages()
        self.assertEqual(self.Message.with_user(self.pb_user).search(events['domain']),
                         self.Message.search([('workcenter_id', '=', wc.id), ('site_id', '=', self.site.id)]))
        self.assertEqual(len(self.Message.with_user(self.pb_user).search(events['domain'])), 2)

    def test_a_binding_names_the_site(self):
        self.env['plant_bridge.binding'].create({
            'site_id': self.site.id, 'group_id': 'plant', 'edge_node': 'line9', 'device': 'press',
            'workcenter_id': self.drill_1.id, 'state': 'confirmed', 'metrics': '[]'})
        self.assertEqual(self.status(self.drill_1)['plant_bridge_site_ids'], self.site.ids)

    def test_many_work_centers_in_as_many_queries_as_one(self):
        workcenters = self.env['mrp.workcenter'].search([])
        workcenters |= workcenters.create([{'name': f'Glance {i}'} for i in range(10)])
        for wc in workcenters:
            self.post_one('machine_status', workcenter=wc.name, status='running')
        self.assertConstantQueries(workcenters, self.FIELDS)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestLotGlance(GlanceCase):
    """On the lot form: the plant events that named it, the open exceptions naming it, its quality
    hold, one click to the Order Trace of the order that produced it."""

    FIELDS = ['plant_bridge_message_count', 'plant_bridge_exception_count', 'plant_bridge_hold',
              'plant_bridge_production_ids']

    def status(self, lot):
        lot.invalidate_recordset()
        return lot.with_user(self.pb_user).read(self.FIELDS)[0]

    def test_events_exceptions_hold_and_producing_order(self):
        production = self.new_mo(product_xmlid='mrp.product_product_computer_desk')
        production.product_id.tracking = 'lot'
        result = self.post_one('production', order=production.name, quantity=1, lot='LOT-GLANCE-1')
        self.assertEqual(result['status'], 'applied', result)
        lot = self.env['stock.lot'].search([('name', '=', 'LOT-GLANCE-1')])
        self.assertEqual(len(lot), 1)
        self.assertEqual(self.status(lot)['plant_bridge_production_ids'], production.ids)
        self.assertEqual(self.status(lot)['plant_bridge_message_count'], 1)
        self.foreign_rejection(lot_id=lot.id)
        self.Message.sudo().create({'key': 'own-lot-rejection', 'site_id': self.site.id, 'lot_id': lot.id,
                                    'event_type': 'consumption', 'state': 'rejected',
                                    'error_code': 'unknown_product'})
        status = self.status(lot)
        self.assertEqual((status['plant_bridge_message_count'], status['plant_bridge_exception_count']), (2, 1),
                         "what the user may see of the other site is not counted")
        self.assertFalse(status['plant_bridge_hold'])
        self.post_one('quality', test='Leak test', result='fail', hold=True, order=production.name)
        self.assertTrue(self.status(lot)['plant_bridge_hold'])

        trace = lot.with_user(self.pb_user).action_plant_bridge_order_trace()
        self.assertEqual((trace['tag'], trace['params']['production_id']),
                         ('plant_bridge.order_trace', production.id))
        events = lot.with_user(self.pb_user).action_plant_bridge_messages()
        self.assertEqual(len(self.Message.with_user(self.pb_user).search(events['domain'])), 2)
        queue = lot.with_user(self.pb_user).action_plant_bridge_exceptions()
        self.assertEqual(queue['context']['plant_bridge_lot_id'], lot.id)

    def test_many_lots_in_as_many_queries_as_one(self):
        lots = self.env['stock.lot'].search([], limit=80)
        self.assertGreater(len(lots), 3)
        self.Message.sudo().create([{'key': f'lot-event-{lot.id}', 'site_id': self.site.id, 'lot_id': lot.id,
                                     'event_type': 'consumption', 'state': 'rejected'} for lot in lots])
        self.assertConstantQueries(lots, self.FIELDS)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestBulkDiscard(GlanceCase):
    """Discarding many messages goes in chunks (one transaction each) like bulk retry: every chunk
    done is kept with its audit rows, the rest stays open; a reason is required."""

    def rejections(self, count):
        return self.Message.sudo().create([{
            'key': f'bulk-discard-{i}', 'site_id': self.site.id, 'event_type': 'consumption',
            'state': 'rejected', 'error_code': 'unknown_product'} for i in range(count)])

    def test_a_few_hundred_in_chunks_audited(self):
        manager = new_test_user(self.env, login='pb_glance_manager', groups='base.group_user,plant_bridge.group_manager')
        manager.plant_bridge_site_ids = self.site
        messages = self.rejections(300)
        Message = self.Message.with_user(manager)
        with self.assertRaises(UserError):
            Message.browse(messages[:20].ids).action_discard('  ')
        # the wizard asks for the reason once, the queue discards in chunks
        wizard = self.env['plant_bridge.message.discard'].with_user(manager).with_context(
            plant_bridge_discard_in_chunks=True).create({'message_ids': [Command.set(messages.ids)],
                                                          'reason': 'Test data from the commissioning'})
        close = wizard.action_discard()
        self.assertEqual(close['infos'], {'discard_reason': 'Test data from the commissioning',
                                          'message_ids': messages.ids})
        self.assertEqual(set(messages.mapped('state')), {'rejected'}, "nothing discarded by the wizard itself")
        audit_before = self.env['plant_bridge.audit'].search_count([('action', '=', 'message.discard')])
        messages[150].sudo().state = 'applied'  # a chunk that cannot be discarded as a whole
        done = 0
        for i in range(0, 300, 50):
            chunk = Message.browse(messages[i:i + 50].ids)
            try:
                with self.env.cr.savepoint():
                    chunk.action_discard('Test data from the commissioning')
                done += len(chunk)
            except UserError:
                pass
        self.assertEqual(done, 250)
        messages.invalidate_recordset()
        self.assertEqual(len(messages.filtered(lambda m: m.state == 'discarded')), 250)
        self.assertEqual(len(messages[150:200].filtered(lambda m: m.state == 'rejected')), 49,
                         "the refused chunk is left as it was")
        self.assertEqual(self.env['plant_bridge.audit'].search_count([('action', '=', 'message.discard')]),
                         audit_before + 250)
        self.assertEqual(set(messages.filtered(lambda m: m.state == 'discarded').mapped('discard_reason')),
                         {'Test data from the commissioning'})
