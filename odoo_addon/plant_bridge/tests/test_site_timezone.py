from datetime import datetime

from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSiteTimezone(PlantBridgeCase):
    """A new site's time zone comes from where the plant is (its warehouse's address, then the
    company's), then the admin's own, and UTC only when nothing says otherwise."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref('base.user_admin')
        cls.admin.tz = 'America/New_York'
        cls.company = cls.env.company
        cls.company.partner_id.tz = 'Europe/Berlin'
        cls.warehouse = cls.env['stock.warehouse'].create({'name': 'Plant Lyon', 'code': 'LYO'})

    def new_site(self, warehouse):
        with Form(self.env['plant_bridge.site'].with_user(self.admin)) as form:
            form.name = 'Lyon'
            form.code = 'lyon'
            form.warehouse_id = warehouse
        return form.record

    def test_from_the_warehouse_address(self):
        self.warehouse.partner_id = self.env['res.partner'].create({'name': 'Lyon plant', 'tz': 'Europe/Paris'})
        self.assertEqual(self.new_site(self.warehouse).timezone, 'Europe/Paris')

    def test_from_the_company_when_the_warehouse_says_nothing(self):
        self.warehouse.partner_id = self.env['res.partner'].create({'name': 'Lyon plant', 'tz': False})
        self.assertEqual(self.new_site(self.warehouse).timezone, 'Europe/Berlin')

    def test_from_the_user_when_no_address_says(self):
        self.warehouse.partner_id = False
        self.company.partner_id.tz = False
        self.assertEqual(self.new_site(self.warehouse).timezone, 'America/New_York')

    def test_an_explicit_zone_is_kept(self):
        site = self.env['plant_bridge.site'].create({
            'name': 'Lyon', 'code': 'lyon', 'warehouse_id': self.warehouse.id, 'timezone': 'Asia/Tokyo'})
        self.assertEqual(site.timezone, 'Asia/Tokyo')


@tagged('post_install', '-at_install', 'plant_bridge')
class TestEpochTimestamps(PlantBridgeCase):
    """Every date-time field of an event takes ISO-8601 with an offset or epoch milliseconds."""

    def test_downtime_start_end_in_epoch_ms(self):
        start = 1795165200000  # 2026-11-20T09:00:00Z
        productivity = self.assertApplied(self.post_one(
            'downtime', workcenter='Assembly 1', reason='Equipment Failure',
            occurredAt=start + 2_700_000, start=start, end=start + 2_700_000), 'mrp.workcenter.productivity')
        self.assertRecordValues(productivity, [{
            'date_start': datetime(2026, 11, 20, 9, 0), 'date_end': datetime(2026, 11, 20, 9, 45)}])
        self.assertEqual(self.message_of(self.post_one(
            'scrap', product='FURN_7800', quantity=1.0, occurredAt=start)).occurred_at,
            datetime(2026, 11, 20, 9, 0))

    def test_no_date_is_refused(self):
        for value in (True, 1e300, 'yesterday'):
            self.assertRejected(self.post_one(
                'downtime', workcenter='Assembly 1', reason='Equipment Failure',
                start=value, end='2026-11-20T10:45:00+01:00'), 'schema')
