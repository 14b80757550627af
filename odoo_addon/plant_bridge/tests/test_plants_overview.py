from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestPlantsOverview(PlantBridgeCase):
    """The Plants screen across plants: each plant's throughput, failure rate, lag and error
    pattern, aggregated in Odoo from what its own sidecar reported; a plant user sees their
    plant only, a manager every plant."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Site = cls.env['plant_bridge.site']
        cls.north, cls.south = Site.create([{
            'name': f'Plant {code}', 'code': f'overview_{code}', 'timezone': 'UTC',
            'warehouse_id': cls.env['stock.warehouse'].create({'name': f'Plant {code}', 'code': code[:5].upper()}).id,
        } for code in ('north', 'south')])
        cls.sidecar_users = {site: cls.env['res.users'].create({
            'name': f'{site.name} sidecar', 'login': f'pb_sidecar_{site.code}',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_connector').ids)],
            'plant_bridge_site_ids': [Command.set(site.ids)]}) for site in (cls.north, cls.south)}
        cls.manager = new_test_user(cls.env, 'pb_overview_manager', groups='plant_bridge.group_manager', tz='UTC')
        cls.north_user = new_test_user(cls.env, 'pb_overview_north', groups='plant_bridge.group_user', tz='UTC')
        cls.north_user.plant_bridge_site_ids = cls.north
        cls.nowhere_user = new_test_user(cls.env, 'pb_overview_nowhere', groups='plant_bridge.group_user', tz='UTC')

    def api_of(self, site):
        return self.env['plant_bridge.api'].with_user(self.sidecar_users[site])

    def beat(self, site, *snapshots):
        self.api_of(site).heartbeat({'name': f'{site.code}-1', 'site': site.code}, list(snapshots))

    def reject(self, site, code, count):
        items = [{'code': code, 'payload': f'{{"n": {i}}}', 'origin': f'{code}/{i}'} for i in range(count)]
        self.api_of(site).report_rejections(site.code, items)

    def overview(self, user, **kwargs):
        now = fields.Datetime.now()
        return self.env['plant_bridge.site'].with_user(user).read_plants_overview(
            (now - timedelta(hours=23)).isoformat(), (now + timedelta(hours=1)).isoformat(), **kwargs)

    def story(self):
        now = fields.Datetime.now()
        at = lambda minutes: (now - timedelta(minutes=minutes)).isoformat() + 'Z'  # noqa: E731
        self.beat(self.north,
                  {'at': at(3 * 24 * 60), 'received': 1000, 'applied': 1000},  # before the window
                  {'at': at(20), 'received': 60, 'applied': 50, 'rejected': 10, 'oldest_pending_age': 4.0,
                   'outbox_depth': 9, 'latency_p95': 0.8},
                  {'at': at(5), 'received': 40, 'applied': 40, 'oldest_pending_age': 2.5, 'outbox_depth': 3,
                   'latency_p95': 0.4},
                  # one source's share of the site's totals: not counted twice
                  {'at': at(5), 'connector': 'line-1', 'received': 40, 'applied': 40})
        self.beat(self.south, {'at': at(10), 'received': 40, 'applied': 40})
        # a real rejection by Odoo, and the sidecar's own
        for i in range(2):
            # (an API model is an empty recordset: `post(api=...)` would fall back to site main's account)
            [result] = self.api_of(self.north).post_events([self.event(
                'consumption', site=self.north.code, id=f'overview-{i}', order='WH/MO/99999',
                product='FURN_0269', quantity=1)], sidecar=f'{self.north.code}-1')
            self.assertEqual(result.get('code'), 'unknown_order', result)
        self.reject(self.north, 'mapping_error', 1)
        self.reject(self.south, 'schema', 3)
        # a failure that was dealt with still belongs to the plant's pattern
        self.Message.search([('site_id', '=', self.south.id), ('error_code', '=', 'schema')], limit=1)._discard('seen')

    def test_manager_sees_every_plant_with_its_own_figures(self):
        self.story()
        overview = self.overview(self.manager)
        rows = {row['code']: row for row in overview['sites']}
        self.assertLessEqual({self.north.code, self.south.code}, set(rows))
        north, south = rows[self.north.code], rows[self.south.code]
        self.assertEqual((north['received'], north['applied'], north['rejected']), (100, 90, 10))
        self.assertAlmostEqual(north['failure_rate'], 0.1)
        self.assertAlmostEqual(north['throughput'], 90 / 24)
        self.assertEqual((north['lag'], north['worst_lag'], north['outbox_depth']), (2.5, 4.0, 3))
        self.assertEqual(north['latency_p95'], 0.8)
        self.assertEqual((north['sidecars'], north['sidecars_stale'], north['open_exceptions']), (1, 0, 3))
        self.assertEqual(north['top_errors'], [{'code': 'unknown_order', 'count': 2},
                                               {'code': 'mapping_error', 'count': 1}])
        self.assertEqual((south['applied'], south['failure_rate'], south['open_exceptions']), (40, 0.0, 2))
        self.assertEqual(south['top_errors'], [{'code': 'schema', 'count': 3}])

    def test_error_pattern_over_time(self):
        self.story()
        overview = self.overview(self.manager, granularity='hour')
        self.assertEqual(len(overview['buckets']), 25)  # the first hour begins before the window
        now = fields.Datetime.now().strftime('%Y-%m-%d %H:00')
        self.assertEqual(overview['buckets'][-2], now)
        north = next(r for r in overview['sites'] if r['code'] == self.north.code)
        pattern = {series['code']: series['counts'] for series in north['errors_over_time']}
        self.assertEqual(pattern['unknown_order'], [0] * 23 + [2, 0])
        self.assertEqual(pattern['mapping_error'], [0] * 23 + [1, 0])
        days = self.overview(self.manager, granularity='day')['buckets']
        self.assertIn(fields.Datetime.now().strftime('%Y-%m-%d'), days)

    def test_plant_user_sees_only_their_plant(self):
        self.story()
        manager_north = next(r for r in self.overview(self.manager)['sites'] if r['code'] == self.north.code)
        overview = self.overview(self.north_user)
        self.assertEqual([row['code'] for row in overview['sites']], [self.north.code])
        self.assertEqual(overview['sites'][0], manager_north)
        self.assertEqual((overview['total']['sites'], overview['total']['applied'],
                          overview['total']['open_exceptions']), (1, 90, 3))
        self.assertEqual(self.overview(self.nowhere_user)['sites'], [])

    def test_queries_do_not_grow_with_the_plants(self):
        """Grouped reads: twenty plants cost the queries of two."""
        self.story()
        self.sidecar_users = dict(self.sidecar_users)  # the class's stays as it was

        def queries():
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            overview = self.overview(self.manager, granularity='hour')
            return self.env.cr.sql_log_count - before, len(overview['sites'])

        few, sites_before = queries()
        for i in range(18):
            site = self.env['plant_bridge.site'].create({
                'name': f'Plant {i}', 'code': f'overview_more_{i}', 'timezone': 'UTC',
                'warehouse_id': self.env['stock.warehouse'].create({'name': f'More {i}', 'code': f'M{i:02d}'}).id})
            self.sidecar_users[site] = self.sidecar_users[self.north].copy(
                {'login': f'pb_sidecar_more_{i}', 'plant_bridge_site_ids': [Command.set(site.ids)]})
            self.beat(site, {'received': 5, 'applied': 5, 'oldest_pending_age': 1.0})
            self.reject(site, 'schema', 2)
        many, sites_after = queries()
        self.assertEqual(sites_after, sites_before + 18)
        self.assertEqual(many, few)

    def test_bad_granularity_is_refused(self):
        with self.assertRaises(ValueError):
            self.overview(self.manager, granularity='minute')
