from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestExceptionQueue(PlantBridgeCase):

    def test_action_lists_failures_grouped(self):
        # the four screens are OWL client actions (owl_src/), registered under these tags
        for xmlid in ('action_dashboard', 'action_mapping_studio', 'action_exception_queue', 'action_order_trace'):
            action = self.env.ref(f'plant_bridge.{xmlid}')
            self.assertEqual((action._name, action.tag), ('ir.actions.client', f"plant_bridge.{xmlid[len('action_'):]}"))
        action = self.site.action_view_failed_messages()
        self.assertEqual((action['tag'], action['context']), ('plant_bridge.exception_queue', {'plant_bridge_site_id': self.site.id}))

    def test_retry_after_fix(self):
        result = self.post_one('scrap', product='PB-NEW-1', quantity=1)
        message = self.message_of(result)
        self.assertRejected(result, 'unknown_product')
        self.env['product.product'].create({'name': 'New part', 'default_code': 'PB-NEW-1', 'is_storable': True})
        message.action_retry()
        self.assertRecordValues(message, [{'state': 'applied', 'attempts': 2, 'res_model': 'stock.scrap',
                                           'error_code': False}])
        self.assertIn('Retried', message.message_ids[0].body)

    def test_retry_keeps_the_failures_it_fixed(self):
        # the trace row is updated in place: the history keeps what the row no longer says
        result = self.post_one('scrap', product='PB-NEW-2', quantity=1)
        message = self.message_of(result)
        message.action_retry()  # still unknown: a second failure, the first one kept
        self.assertRecordValues(message, [{'state': 'rejected', 'attempts': 2, 'error_code': 'unknown_product'}])
        self.assertEqual([f['code'] for f in message.failure_history], ['unknown_product'])
        first_failed_at = message.failure_history[0]['at']
        self.env['product.product'].create({'name': 'New part', 'default_code': 'PB-NEW-2', 'is_storable': True})
        message.action_retry()
        self.assertRecordValues(message, [{'state': 'applied', 'attempts': 3, 'error_code': False,
                                           'res_model': 'stock.scrap'}])
        self.assertEqual([(f['state'], f['code']) for f in message.failure_history],
                         [('rejected', 'unknown_product'), ('rejected', 'unknown_product')])
        self.assertEqual(message.failure_history[0]['at'], first_failed_at)
        self.assertTrue(message.failure_history[1]['message'])
        # a duplicate of the settled key changes nothing
        again = self.post(dict(message._get_event(), id=message.key))[0]
        self.assertEqual(again['status'], 'duplicate')
        self.assertEqual(len(message.failure_history), 2)

    def test_first_attempt_applied_has_no_history(self):
        message = self.message_of(self.post_one('scrap', product='FURN_7800', quantity=1))
        self.assertRecordValues(message, [{'state': 'applied', 'failure_history': False}])

    def test_failure_history_is_bounded(self):
        message = self.message_of(self.post_one('scrap', product='NOPE-H', quantity=1))
        limit = message.FAILURE_HISTORY_LIMIT
        message.sudo().failure_history = [{'state': 'deferred', 'code': f'c{i}', 'message': '', 'at': False}
                                          for i in range(limit)]
        message.action_retry()
        self.assertEqual(len(message.failure_history), limit)
        self.assertEqual((message.failure_history[0]['code'], message.failure_history[-1]['code']),
                         ('c1', 'unknown_product'))

    def test_edit_payload_and_replay(self):
        result = self.post_one('scrap', product='NOPE-2', quantity=1)
        message = self.message_of(result)
        payload = message.payload.replace('NOPE-2', 'FURN_7800')
        with self.assertRaises(UserError):
            message.payload = '{not json'
        message.payload = payload
        message.action_replay_edited()
        self.assertRecordValues(message, [{'state': 'applied', 'res_model': 'stock.scrap'}])
        scrap = self.env['stock.scrap'].browse(message.res_id)
        self.assertEqual(scrap.product_id.default_code, 'FURN_7800')
        bodies = ' '.join(message.message_ids.mapped('body'))
        self.assertIn('Payload edited', bodies)
        self.assertIn('replayed', bodies)
        with self.assertRaises(UserError):
            message.payload = '{}'  # applied messages are history

    def test_discard_with_reason(self):
        message = self.message_of(self.post_one('scrap', product='NOPE-3', quantity=1))
        action = message.action_open_discard_wizard()
        wizard = Form(self.env[action['res_model']].with_context(action['context']))
        wizard.reason = 'Test event from commissioning'
        wizard.save().action_discard()
        self.assertRecordValues(message, [{'state': 'discarded', 'discard_reason': 'Test event from commissioning'}])
        self.assertIn('commissioning', message.message_ids[0].body)
        # a discarded key stays settled: posting it again does nothing
        again = self.post(dict(message._get_event(), id=message.key))[0]
        self.assertEqual((again['status'], again['original_status']), ('duplicate', 'discarded'))

    def test_only_managers_act(self):
        message = self.message_of(self.post_one('scrap', product='NOPE-4', quantity=1))
        user = self.env['res.users'].create({
            'name': 'Monitor', 'login': 'pb_monitor', 'group_ids': [(6, 0, self.env.ref('plant_bridge.group_user').ids)],
            'plant_bridge_site_ids': [(6, 0, self.site.ids)]})
        as_user = message.with_user(user)
        self.assertEqual(as_user.error_code, 'unknown_product')
        with self.assertRaises(UserError):
            as_user.action_retry()
        with self.assertRaises(UserError):
            as_user._discard('no')

    def test_sidecar_rejections_and_replays(self):
        items = [
            {'code': 'invalid_json', 'message': 'Unexpected token', 'payload': '{"qty": 1', 'source': 'mqtt',
             'origin': 'plant/main/l1/a1/count', 'received_at': '2026-11-26T08:00:00+00:00', 'fingerprint': 'fp-1'},
            {'code': 'unauthorized', 'message': 'site mismatch', 'payload': {'site': 'other'}, 'source': 'mqtt',
             'origin': 'plant-bridge/v1/main/events', 'fingerprint': 'fp-2'},
        ]
        answer = self.api.report_rejections('main', items)
        self.assertEqual((answer['recorded'], answer['duplicate']), (2, 0))
        again = self.api.report_rejections('main', items)
        self.assertEqual((again['recorded'], again['duplicate']), (0, 2))
        self.assertEqual(again['message_ids'], answer['message_ids'])
        first, second = self.Message.browse(answer['message_ids'])
        self.assertRecordValues(first + second, [
            {'state': 'rejected', 'rejected_by': 'sidecar', 'error_code': 'invalid_json', 'fingerprint': 'fp-1',
             'payload': '{"qty": 1', 'origin': 'plant/main/l1/a1/count', 'source': 'mqtt'},
            {'state': 'rejected', 'rejected_by': 'sidecar', 'error_code': 'unauthorized', 'fingerprint': 'fp-2',
             'payload': '{"site": "other"}', 'origin': 'plant-bridge/v1/main/events', 'source': 'mqtt'},
        ])
        first.payload = '{"qty": 1}'
        first.action_replay_edited()
        replay = first.replay_ids
        self.assertRecordValues(replay, [{'state': 'pending', 'payload': '{"qty": 1}'}])
        beat = self.api.heartbeat({'name': 'edge-1', 'site': 'main'})
        self.assertEqual(beat['replays'], [{'replay_id': replay.id, 'fingerprint': 'fp-1', 'payload': '{"qty": 1}',
                                            'edited': True, 'code': 'invalid_json'}])
        attempts = first.attempts
        self.assertEqual(self.api.ack_replays([{'replay_id': replay.id, 'status': 'accepted'}]),
                         {'done': 1, 'failed': 0})
        self.assertRecordValues(replay, [{'state': 'done'}])
        self.assertRecordValues(first, [{'state': 'discarded', 'attempts': attempts + 1}])
        # the rejection the replay fixed stays on the row's history (the Order Trace shows it)
        self.assertEqual([(f['state'], f['code']) for f in first.failure_history], [('rejected', 'invalid_json')])
        second.action_retry()
        self.assertEqual(self.api.ack_replays([{'replay_id': second.replay_ids.id, 'status': 'rejected',
                                                'code': 'unknown_site', 'message': "Unknown site 'x'"}]),
                         {'done': 0, 'failed': 1})
        self.assertRecordValues(second, [{'state': 'rejected', 'error_code': 'unknown_site', 'attempts': 2,
                                          'error_message': "Unknown site 'x'"}])
        self.assertEqual([f['code'] for f in second.failure_history], ['unauthorized'])
        self.assertEqual(self.api.heartbeat({'name': 'edge-1', 'site': 'main'})['replays'], [])

    def test_unauthenticated_request_is_replayed_only_edited(self):
        answer = self.api.report_rejections('main', [{
            'code': 'signature', 'message': 'signature does not match', 'source': 'webhook',
            'origin': '/webhooks/main', 'fingerprint': 'fp-sig',
            'payload': '{"id": "forged", "type": "scrap", "product": "FURN_8522", "quantity": 1}'}])
        message = self.Message.browse(answer['message_ids'])
        # a retry hands the body back as it is: refused (it used to count as edited)
        with self.assertRaisesRegex(UserError, 'failed authentication'):
            message.action_retry()
        message.payload = message.payload  # saved unchanged: still not edited
        with self.assertRaisesRegex(UserError, 'failed authentication'):
            message.action_replay_edited()
        self.assertFalse(message.replay_ids)
        message.payload = '{"id": "checked", "type": "scrap", "product": "FURN_8522", "quantity": 1}'
        message.action_replay_edited()
        beat = self.api.heartbeat({'name': 'edge-1', 'site': 'main'})
        self.assertEqual([(r['edited'], r['code']) for r in beat['replays']], [(True, 'signature')])
