from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..handlers.downtime import DowntimeHandler
from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestPosting(PlantBridgeCase):
    """Idempotency, isolation and ordering of post_events (docs/odoo-api.md)."""

    def downtime(self, start_hour, **extra):
        return self.event('downtime', workcenter='Assembly 1', reason='Equipment Failure',
                          start=f'2026-11-20T{start_hour:02d}:00:00+00:00',
                          end=f'2026-11-20T{start_hour:02d}:30:00+00:00', **extra)

    def test_duplicate_batch_posts_once(self):
        Productivity = self.env['mrp.workcenter.productivity']
        events = [self.downtime(1), self.downtime(2), self.event('scrap', product='FURN_7800', quantity=1)]
        before = Productivity.search_count([]), self.env['stock.scrap'].search_count([])
        first = self.post(*events)
        self.assertEqual([r['status'] for r in first], ['applied'] * 3)
        after_first = Productivity.search_count([]), self.env['stock.scrap'].search_count([])
        self.assertEqual(after_first, (before[0] + 2, before[1] + 1))

        second = self.post(*events)
        self.assertEqual([r['status'] for r in second], ['duplicate'] * 3)
        self.assertEqual([r['original_status'] for r in second], ['applied'] * 3)
        self.assertEqual([r['ref'] for r in second], [r['ref'] for r in first])
        self.assertEqual([r['message_id'] for r in second], [r['message_id'] for r in first])
        self.assertEqual((Productivity.search_count([]), self.env['stock.scrap'].search_count([])), after_first)
        self.assertRecordValues(self.message_of(first[0]), [{'state': 'applied', 'attempts': 1}])

    def test_same_key_twice_in_one_batch(self):
        event = self.downtime(3)
        first, second = self.post(event, dict(event))
        self.assertEqual(first['status'], 'applied')
        self.assertEqual((second['status'], second['original_status']), ('duplicate', 'applied'))
        self.assertEqual(second['message_id'], first['message_id'])
        self.assertEqual(self.Message.search_count([('key', '=', event['id'])]), 1)

    def test_one_bad_event_does_not_fail_the_batch(self):
        results = self.post(
            self.downtime(4),
            self.event('downtime', workcenter='No Such Machine', reason='Equipment Failure',
                       start='2026-11-20T05:00:00+00:00', end='2026-11-20T05:10:00+00:00'),
            self.event('scrap', product='FURN_7800', quantity=1),
        )
        self.assertEqual([r['status'] for r in results], ['applied', 'rejected', 'applied'])
        self.assertRejected(results[1], 'unknown_workcenter')

    def test_results_in_input_order_with_ids(self):
        events = [self.downtime(h) for h in (6, 7, 8)]
        results = self.post(*events)
        self.assertEqual([r['id'] for r in results], [e['id'] for e in events])
        self.assertEqual({r['site'] for r in results}, {'main'})

    def test_rejected_then_fixed_is_attempted_again(self):
        event = self.event('downtime', workcenter='PB-LINE-9', reason='Equipment Failure',
                           start='2026-11-20T09:00:00+00:00', end='2026-11-20T09:20:00+00:00')
        self.assertRejected(self.post(event)[0], 'unknown_workcenter')
        self.assembly_2.code = 'PB-LINE-9'  # the operator fixes the cause
        result = self.post(event)[0]
        productivity = self.assertApplied(result, 'mrp.workcenter.productivity')
        self.assertEqual(productivity.workcenter_id, self.assembly_2)
        self.assertRecordValues(self.message_of(result), [{'attempts': 2, 'workcenter_id': self.assembly_2.id}])

    def test_schema_errors_are_recorded(self):
        no_id = self.event('downtime')
        del no_id['id']
        results = self.post(
            no_id,
            self.event('teleport', quantity=1),
            self.event('downtime', workcenter='Assembly 1'),
            self.event('scrap', product='FURN_7800', quantity=1, occurredAt='yesterday'),
            self.event('scrap', product='FURN_7800', quantity=1, occurredAt='2026-11-26T08:00:00'),
        )
        for result in results:
            self.assertRejected(result, 'schema')
        self.assertIsNone(results[0]['id'])
        self.assertTrue(self.message_of(results[0]).key.startswith('invalid:'))

    def test_unknown_site_has_no_trace_row(self):
        result = self.post(self.event('scrap', site='mars', product='FURN_7800', quantity=1))[0]
        self.assertEqual((result['status'], result['code'], result['message_id']), ('rejected', 'unknown_site', None))

    def test_unexpected_error_is_rejected_not_raised(self):
        with patch.object(DowntimeHandler, 'prepare', side_effect=RuntimeError('boom')), \
                mute_logger('odoo.addons.plant_bridge.posting'):
            result = self.post(self.downtime(10))[0]
        self.assertRejected(result, 'unexpected')

    def test_bulk_create_failure_falls_back_to_one_by_one(self):
        real_create = DowntimeHandler.create_batch

        def fail_on_many(handler, items):
            if len(items) > 1:
                raise ValueError("bulk failure")
            return real_create(handler, items)
        with patch.object(DowntimeHandler, 'create_batch', fail_on_many):
            results = self.post(self.downtime(11), self.downtime(12))
        self.assertEqual([r['status'] for r in results], ['applied', 'applied'])

    def test_malformed_calls(self):
        with self.assertRaises(UserError):
            self.api.post_events({'id': 'x'})
        with self.assertRaises(UserError):
            self.api.post_events([self.downtime(1)] * 5001)

    def test_site_of_another_plant_is_forbidden(self):
        other = self.env['plant_bridge.site'].create({
            'name': 'Other plant', 'code': 'other', 'warehouse_id': self.site.warehouse_id.id})
        Scrap, Message = self.env['stock.scrap'], self.env['plant_bridge.message']
        scraps, messages = Scrap.search_count([]), Message.search_count([('site_id', '=', other.id)])
        foreign = self.event('scrap', site=other.code, product='FURN_7800', quantity=1)
        own = self.event('scrap', product='FURN_7800', quantity=1)
        results = self.post(foreign, own)
        # the other plant's event is refused on its own; the caller's own event still applies
        self.assertEqual([(r['status'], r.get('code'), r['message_id']) for r in results[:1]],
                         [('rejected', 'unauthorized', None)])
        self.assertIn('other', results[0]['message'])
        self.assertEqual(results[1]['status'], 'applied')
        self.assertEqual(Scrap.search_count([]), scraps + 1)
        self.assertEqual(Message.search_count([('site_id', '=', other.id)]), messages)
        # reading that site's configuration is still refused for the whole call
        with self.assertRaises(AccessError):
            self.api.get_config(other.code)

    def test_trace_source(self):
        sources = {}
        for number, source in enumerate(('webhook', 'sparkplug', 'file', 'telnet'), start=20):
            result = self.post(self.downtime(number, source=source))[0]
            self.assertEqual(result['status'], 'applied')
            sources[source] = self.message_of(result).source
        self.assertEqual(sources, {'webhook': 'webhook', 'sparkplug': 'sparkplug', 'file': 'file', 'telnet': 'other'})

    def test_trace_fields(self):
        event = self.downtime(13, receivedAt='2026-11-20T13:31:00+00:00', origin='plant/main/l1/a1/status')
        result = self.post(event)[0]
        self.assertRecordValues(self.message_of(result), [{
            'key': event['id'], 'site_id': self.site.id, 'event_type': 'downtime', 'source': 'mqtt',
            'origin': 'plant/main/l1/a1/status', 'sidecar': 'test-sidecar', 'state': 'applied',
            'workcenter_id': self.assembly_1.id, 'res_model': 'mrp.workcenter.productivity',
        }])
        message = self.message_of(result)
        self.assertGreater(message.latency, 0)
        self.assertEqual(message._get_event()['id'], event['id'])

    def test_large_payload_goes_to_an_attachment(self):
        event = self.event('scrap', product='FURN_7800', quantity=1, note='x' * 70000)
        message = self.message_of(self.post(event)[0])
        self.assertFalse(message.payload)
        self.assertTrue(message.payload_attachment_id)
        self.assertEqual(message._get_event()['note'], 'x' * 70000)
