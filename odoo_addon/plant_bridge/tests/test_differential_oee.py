from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo.tests import freeze_time, new_test_user, tagged

from .differential import EVENTS, MANUAL, DifferentialCase, snapshot, time_snapshot
from .test_differential_time import DESK, T0, iso

MINUTE = timedelta(minutes=1)


def oee_fields(workcenter):
    """The OEE figures of the work center form and kanban card (Odoo's last month)."""
    workcenter.invalidate_recordset(['oee', 'blocked_time', 'productive_time', 'performance'])
    return {name: workcenter[name] for name in ('oee', 'blocked_time', 'productive_time', 'performance')}


def oee_pivot(workcenter):
    """Odoo's *Overall Equipment Effectiveness* report: minutes per effectiveness category."""
    groups = workcenter.env['mrp.workcenter.productivity']._read_group(
        [('workcenter_id', '=', workcenter.id)], ['loss_type'], ['duration:sum'])
    return {loss_type: round(duration, 2) for loss_type, duration in groups}


@tagged('post_install', '-at_install', 'plant_bridge')
class TestDifferentialOee(DifferentialCase):
    """One shift on a work center, once through Odoo's own screens (the work order's Start /
    Done, the work center's Block / Unblock, the MO's Scrap) and once as the plant's events
    (machine states, work order status with the count, scrap, a downtime) posted hours later:
    Odoo's OEE figures and its OEE report must be equal, and the read API's OEE of a period must
    be Odoo's own figures for that period."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assembly_1.costs_hour = 45.0
        cls.failure = cls.env.ref('mrp.block_reason1')    # Equipment Failure (availability)
        cls.defect = cls.env.ref('mrp.block_reason5')     # Process Defect (quality)
        cls.material = cls.env.ref('mrp.block_reason0')   # Material Availability (availability)

    def shift(self):
        """The shift by hand on one twin, as events on the other; returns both twins."""
        manual_wc, event_wc = self.twin_workcenters(self.assembly_1)
        event_wc.plant_bridge_auto_downtime = True
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', (manual_wc, event_wc)))
        (manual_mo | event_mo).workorder_ids.duration_expected = 60.0
        workorder = manual_mo.workorder_ids
        by_hand = [
            (0, workorder.button_start),
            (30, lambda: self.block(manual_wc, self.failure)),  # ends the work order's timer
            (50, manual_wc.unblock),
            (50, workorder.button_start),
            (70, lambda: self.form_scrap(manual_mo, 'FURN_0269', 1)),
            (100, lambda: self.form_produce(manual_mo, quantity=3)),
            (100, workorder.button_finish),
            (120, lambda: self.block(manual_wc, self.defect)),
            (135, manual_wc.unblock),
            (230, lambda: self.block(manual_wc, self.material)),  # over the calendar's lunch break
            (290, manual_wc.unblock),
        ]
        for minutes, press in by_hand:
            with freeze_time(T0 + minutes * MINUTE):
                press()

        def at(minutes):
            return iso(T0 + minutes * MINUTE)

        wo = {'order': event_mo.name, 'operation': 'Manual Assembly'}
        machine = {'workcenter': event_wc.name}
        events = [
            self.event('workorder_status', status='started', occurredAt=at(0), **wo),
            self.event('machine_status', status='down', reason=self.failure.name, occurredAt=at(30), **machine),
            self.event('machine_status', status='running', occurredAt=at(50), **machine),
            self.event('workorder_status', status='started', occurredAt=at(50), **wo),
            self.event('scrap', order=event_mo.name, product='FURN_0269', quantity=1, occurredAt=at(70)),
            self.event('workorder_status', status='finished', quantity=3, occurredAt=at(100), **wo),
            self.event('machine_status', status='down', reason=self.defect.name, occurredAt=at(120), **machine),
            self.event('machine_status', status='running', occurredAt=at(135), **machine),
            self.event('downtime', reason=self.material.name, start=at(230), end=at(290), **machine),
        ]
        with freeze_time(T0 + timedelta(hours=7)):
            results = self.post(*events)
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        return (manual_wc, manual_mo), (event_wc, event_mo)

    def test_shift_by_hand_and_as_events_give_the_same_oee(self):
        (manual_wc, manual_mo), (event_wc, event_mo) = self.shift()
        self.assertSameOutcome(time_snapshot(manual_wc, manual_mo), time_snapshot(event_wc, event_mo))
        self.assertEqual(snapshot(event_mo, EVENTS)['orders'][0]['scraps'],
                         snapshot(manual_mo, MANUAL)['orders'][0]['scraps'])
        with freeze_time(T0 + timedelta(days=1)):
            manual = oee_fields(manual_wc)
            self.assertEqual(oee_fields(event_wc), manual)
        self.assertEqual(oee_pivot(event_wc), oee_pivot(manual_wc))
        # the shift is not trivial: losses of every kind, and a work order slower than expected
        self.assertEqual(set(oee_pivot(manual_wc)), {'productive', 'performance', 'availability', 'quality'})
        self.assertTrue(0 < manual['oee'] < 100, manual)
        self.assertEqual(manual['performance'], 75)  # 60 minutes expected, 80 taken

    def test_read_api_oee_is_odoo_oee_for_the_same_period(self):
        """GraphQL `oee(from, to)` reads `plant_bridge.api.read_oee`: over Odoo's own period (the
        last month) it must answer the work center's OEE, Performance, productive and blocked
        time, and the OEE report's minutes per category."""
        __, (event_wc, __) = self.shift()
        now = T0 + timedelta(days=1)
        with freeze_time(now):
            odoo = oee_fields(event_wc)
            [row] = self.api.read_oee('main', [event_wc.name], iso(now - relativedelta(months=1)), iso(now))
        self.assertEqual(row['oee'], odoo['oee'])
        self.assertEqual(row['performance'], odoo['performance'])
        self.assertEqual(row['productive_time'], odoo['productive_time'])
        self.assertEqual(row['blocked_time'], odoo['blocked_time'])
        self.assertEqual({k: v for k, v in row['minutes'].items() if v}, oee_pivot(event_wc))
        self.assertEqual(row['work_orders'], {'expected': 60.0, 'actual': 80.0})

    def test_read_api_period_counts_time_logs_started_in_it(self):
        """A shorter period: the time logs that started in it and are closed, as the OEE
        report filtered on its Date (`date_start`) shows them; an open interval counts nowhere
        (Odoo's OEE waits for its end)."""
        __, (event_wc, __) = self.shift()
        self.post(self.event('machine_status', workcenter=event_wc.name, status='down',
                             reason=self.failure.name, occurredAt=iso(T0 + 300 * MINUTE)))
        [row] = self.api.read_oee('main', [event_wc.name], iso(T0 + 110 * MINUTE), iso(T0 + 24 * 60 * MINUTE))
        logs = self.env['mrp.workcenter.productivity'].search([
            ('workcenter_id', '=', event_wc.id), ('date_start', '>=', T0 + 110 * MINUTE), ('date_end', '!=', False)])
        self.assertEqual(sorted(logs.mapped('loss_type')), ['availability', 'quality'])
        self.assertEqual(row['minutes']['quality'], 15.0)
        self.assertEqual(row['minutes']['availability'], logs.filtered(lambda l: l.loss_type == 'availability').duration)
        self.assertEqual((row['minutes']['productive'], row['oee'], row['performance']), (0.0, 0.0, 0))

    def test_dashboard_oee_is_the_read_api_oee(self):
        """The Dashboard's OEE (a Plant Bridge user's `plant_bridge.site.read_oee`) answers the same
        figures as the connector's read API for the same period."""
        __, (event_wc, __) = self.shift()
        user = new_test_user(self.env, login='pb_oee_viewer', groups='plant_bridge.group_user')
        period = (iso(T0), iso(T0 + timedelta(days=1)))
        Site = self.env['plant_bridge.site'].with_user(user)
        self.assertEqual(Site.read_oee(*period), [])  # only the sites the user is allowed on
        user.plant_bridge_site_ids = self.site
        rows = Site.read_oee(*period)
        [row] = [r for r in rows if r['key'] == event_wc.name]
        [api_row] = self.api.read_oee('main', [event_wc.name], *period)
        self.assertEqual(row, dict(api_row, site='main'))
        self.assertGreater(row['oee'], 0.0)
