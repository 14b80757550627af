from odoo.tests import new_test_user, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestProductionStatus(PlantBridgeCase):
    """On the MO: was it released, did the plant acknowledge it, when did it last report, what
    failed, is it held — without opening the trace."""

    def status(self, production):
        production.invalidate_recordset()
        return production.with_user(self.pb_user).read([
            'plant_bridge_release_state', 'plant_bridge_last_event_at', 'plant_bridge_exception_count',
            'plant_bridge_quality_hold'])[0]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pb_user = new_test_user(cls.env, login='pb_status_user',
                                    groups='base.group_user,mrp.group_mrp_user,plant_bridge.group_user')
        cls.pb_user.plant_bridge_site_ids = cls.site

    def test_release_acknowledgement_events_exceptions_hold(self):
        production = self.new_mo(confirm=False)
        self.assertMatchStatus(production, 'not_released', False, 0, False)
        production.action_confirm()
        self.assertMatchStatus(production, 'released', False, 0, False)
        release = self.env['plant_bridge.outbound'].search([('production_id', '=', production.id)])
        self.api.ack_outbound([{'id': release.id, 'state': 'acknowledged', 'sink': 'mqtt'}])
        self.assertMatchStatus(production, 'acknowledged', False, 0, False)

        result = self.post_one('production', order=production.name, quantity=1, lot='LOT-STATUS-1',
                               occurredAt='2026-11-26T09:30:00+00:00')
        self.assertEqual(result['status'], 'applied', result)
        self.assertRejected(self.post_one('consumption', order=production.name, product='NOPE', quantity=1,
                                          occurredAt='2026-11-26T09:45:00+00:00'), 'unknown_product')
        status = self.status(production)
        self.assertEqual(str(status['plant_bridge_last_event_at']), '2026-11-26 09:30:00',
                         "the last event applied, not the rejected one")
        self.assertEqual(status['plant_bridge_exception_count'], 1)

        self.post_one('quality', test='Leak test', result='fail', hold=True, order=production.name)
        self.assertTrue(self.status(production)['plant_bridge_quality_hold'])

    def test_failed_release(self):
        production = self.new_mo()
        release = self.env['plant_bridge.outbound'].search([('production_id', '=', production.id)])
        self.api.ack_outbound([{'id': release.id, 'state': 'failed', 'message': 'sink down'}])
        self.assertMatchStatus(production, 'failed', False, 0, False)

    def assertMatchStatus(self, production, release_state, last_event_at, exceptions, hold):
        self.assertEqual(self.status(production), {
            'id': production.id, 'plant_bridge_release_state': release_state,
            'plant_bridge_last_event_at': last_event_at, 'plant_bridge_exception_count': exceptions,
            'plant_bridge_quality_hold': hold})
