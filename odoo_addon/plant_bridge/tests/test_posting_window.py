from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestPostingWindow(PlantBridgeCase):

    def _window(self, **vals):
        return self.env['plant_bridge.posting.window'].create(dict({'site_id': self.site.id}, **vals))

    def test_windows_reach_the_sidecar_with_the_site_config(self):
        revision = self.api.get_config('main')['revision']
        shift = self._window(name='Shift end', event_class='critical', mode='batched',
                             post_times='22:00, 06:00,14:00')
        close = self._window(name='Period close', event_class='production', mode='hold',
                             hold_start='2026-11-30 22:00:00', hold_end='2026-12-01 06:00:00')
        self._window(name='Old cutoff', mode='batched', post_times='18:00', active=False)
        config = self.api.get_config('main', known_revision=revision)
        self.assertTrue(config['changed'])  # a window is configuration: it bumps the revision
        self.assertEqual(config['posting_windows'], [
            {'id': shift.id, 'name': 'Shift end', 'event_class': 'critical', 'mode': 'batched',
             'times': ['06:00', '14:00', '22:00']},
            {'id': close.id, 'name': 'Period close', 'event_class': 'production', 'mode': 'hold',
             'start': '2026-11-30T22:00:00Z', 'end': '2026-12-01T06:00:00Z'},
        ])
        self.assertEqual(self.site.posting_window_ids, shift | close)

    def test_a_site_without_windows_posts_in_real_time(self):
        self.assertEqual(self.api.get_config('main')['posting_windows'], [])

    def test_times_and_holds_are_checked(self):
        with self.assertRaises(ValidationError):
            self._window(name='Bad', mode='batched', post_times='25:00')
        with self.assertRaises(ValidationError):
            self._window(name='Empty', mode='batched', post_times=' , ')
        with self.assertRaises(ValidationError):
            self._window(name='Backwards', mode='hold',
                         hold_start='2026-12-01 06:00:00', hold_end='2026-11-30 22:00:00')
        with self.assertRaises(ValidationError):
            self._window(name='Open', mode='hold', hold_start='2026-12-01 06:00:00')

    def test_heartbeat_shows_held_events_as_waiting(self):
        self.api.heartbeat({'name': 'edge-held', 'site': 'main'}, snapshots=[{
            'at': '2026-11-30T23:00:00+00:00', 'outbox_depth': 3, 'held': 3,
            'held_until': '2026-12-01T06:00:00+00:00'}])
        sidecar = self.env['plant_bridge.sidecar'].search([('name', '=', 'edge-held')])
        self.assertRecordValues(sidecar.snapshot_ids, [{
            'held': 3, 'held_until': fields.Datetime.to_datetime('2026-12-01 06:00:00'), 'rejected': 0}])
