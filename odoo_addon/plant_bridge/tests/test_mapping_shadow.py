from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestMappingShadow(PlantBridgeCase):

    def test_shadow_reports_add_up_and_keep_the_latest_difference(self):
        mapping = self.env['plant_bridge.mapping'].create({
            'name': 'Status v2', 'site_id': self.site.id, 'selector': 'acme/{site}/{machine}/status',
            'event_type': 'machine_status', 'expression': '{"status": "running"}', 'state': 'shadow'})
        revision = self.api.get_config('main')['revision']
        difference = {'topic': 'acme/main/m1/status', 'differences': ['$[0].reason']}
        item = {'mapping_id': mapping.id, 'version': 1, 'compared': 5, 'equal': 3, 'different': 2, 'errors': 0}
        self.assertEqual(self.api.report_shadow('main', [dict(item, last_difference=difference)]), {'recorded': 1})
        self.assertEqual(self.api.report_shadow('main', [dict(item, compared=1, equal=0, different=0, errors=1),
                                                        dict(item, mapping_id=999999)]), {'recorded': 1})
        self.assertRecordValues(mapping.shadow_result_ids, [{
            'version': 1, 'compared': 6, 'equal': 3, 'different': 2, 'errors': 1, 'site_id': self.site.id}])
        self.assertIn('$[0].reason', mapping.shadow_result_ids.last_difference)
        # Reports are results, not configuration: sidecars do not reload for them.
        self.assertFalse(self.api.get_config('main', known_revision=revision)['changed'])

    def test_bad_reports_are_refused(self):
        with self.assertRaises(UserError):
            self.api.report_shadow('main', [{'mapping_id': 'one'}])
