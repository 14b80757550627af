from datetime import date, datetime

from odoo.tests import Form, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestMaintenance(PlantBridgeCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.done_stage = cls.env['maintenance.stage'].search([('done', '=', True)], limit=1)
        cls.team_metrology = cls.env.ref('maintenance.equipment_team_metrology')
        cls.team_sub = cls.env.ref('maintenance.equipment_team_subcontractor')
        Equipment = cls.env['maintenance.equipment']
        cls.spindle = Equipment.create({'name': 'PB Spindle', 'serial_no': 'PB-SP-1',
                                        'maintenance_team_id': cls.team_metrology.id})
        cls.coolant = Equipment.create({'name': 'PB Coolant Pump', 'serial_no': 'PB-CP-1'})

    def test_request_for_workcenter_uses_its_equipment(self):
        equipment = self.env.ref('maintenance.equipment_monitor1')
        equipment.plant_bridge_workcenter_id = self.drill_1
        self.assertEqual(self.drill_1.plant_bridge_equipment_ids, equipment)
        result = self.post_one('maintenance', workcenter='Drill 1', kind='corrective',
                               description='Spindle vibration above limit\nSeen on shift 2')
        request = self.assertApplied(result, 'maintenance.request')
        self.assertRecordValues(request, [{
            'name': 'Spindle vibration above limit', 'maintenance_type': 'corrective',
            'equipment_id': equipment.id, 'plant_bridge_workcenter_id': self.drill_1.id,
            'company_id': self.site.company_id.id,
        }])
        self.assertRecordValues(self.message_of(result), [{'workcenter_id': self.drill_1.id}])

    def test_request_for_equipment_by_serial_number(self):
        equipment = self.env.ref('maintenance.equipment_monitor1')
        equipment.serial_no = 'MON-PB-001'
        request = self.assertApplied(self.post_one('maintenance', equipment='MON-PB-001', kind='preventive',
                                                   description='Yearly check'), 'maintenance.request')
        self.assertRecordValues(request, [{'equipment_id': equipment.id, 'maintenance_type': 'preventive'}])

    def test_occurred_at_is_the_request_date_in_the_site_time_zone(self):
        """The form's Request Date is the day the problem was reported (the site's day); the
        Scheduled Date is the team's plan and stays empty."""
        self.site.timezone = 'Europe/Brussels'
        request = self.assertApplied(self.post_one(
            'maintenance', equipment='PB-CP-1', kind='corrective', description='Pump noisy',
            occurredAt='2026-11-26T23:30:00+00:00'), 'maintenance.request')
        self.assertRecordValues(request, [{'request_date': date(2026, 11, 27), 'schedule_date': False,
                                           'plant_bridge_last_seen': datetime(2026, 11, 26, 23, 30)}])

    def test_repeated_alarms_update_the_open_request(self):
        requests = self.env['maintenance.request']
        for minute in (0, 20, 10):
            requests |= self.assertApplied(self.post_one(
                'maintenance', equipment='PB-SP-1', kind='corrective', description=f'Vibration at :{minute}',
                occurredAt=f'2026-11-26T08:{minute:02d}:00+00:00'), 'maintenance.request')
        self.assertEqual(len(requests), 1, "one request while it is open, not one per alarm")
        self.assertRecordValues(requests, [{'plant_bridge_alarm_count': 3, 'request_date': date(2026, 11, 26),
                                            'plant_bridge_last_seen': datetime(2026, 11, 26, 8, 20),
                                            'name': 'Vibration at :0'}])
        self.assertIn('Vibration at :20', ' '.join(str(body) for body in requests.message_ids.mapped('body')))
        # a preventive request is another matter
        preventive = self.assertApplied(self.post_one('maintenance', equipment='PB-SP-1', kind='preventive',
                                                      description='Grease'), 'maintenance.request')
        self.assertNotEqual(preventive, requests)
        # once done, the next alarm opens a new request
        requests.stage_id = self.done_stage
        again = self.assertApplied(self.post_one('maintenance', equipment='PB-SP-1', kind='corrective',
                                                 description='Vibration again'), 'maintenance.request')
        self.assertNotEqual(again, requests)
        self.assertRecordValues(again, [{'plant_bridge_alarm_count': 1}])

    def test_equipment_chosen_by_the_binding(self):
        (self.spindle | self.coolant).plant_bridge_workcenter_id = self.assembly_2
        result = self.post_one('maintenance', workcenter='Assembly 2', kind='preventive', description='Check')
        self.assertRejected(result, 'ambiguous_equipment')
        binding = self.env['plant_bridge.binding'].create({
            'site_id': self.site.id, 'group_id': 'plant', 'edge_node': 'line2', 'device': 'asm2',
            'workcenter_id': self.assembly_2.id, 'equipment_id': self.coolant.id})
        binding.action_confirm()
        request = self.assertApplied(self.post_one('maintenance', workcenter='Assembly 2', kind='preventive',
                                                   description='Check'), 'maintenance.request')
        self.assertRecordValues(request, [{'equipment_id': self.coolant.id,
                                           'plant_bridge_workcenter_id': self.assembly_2.id}])

    def test_team_and_company_follow_the_site(self):
        self.site.maintenance_team_id = self.team_sub
        without_team = self.assertApplied(self.post_one('maintenance', equipment='PB-CP-1', kind='preventive',
                                                        description='Filters'), 'maintenance.request')
        with_team = self.assertApplied(self.post_one('maintenance', equipment='PB-SP-1', kind='preventive',
                                                     description='Bearings'), 'maintenance.request')
        self.assertRecordValues(without_team | with_team, [
            {'maintenance_team_id': self.team_sub.id, 'company_id': self.site.company_id.id},
            {'maintenance_team_id': self.team_metrology.id, 'company_id': self.site.company_id.id},
        ])

    def test_corrective_request_links_the_downtime_that_caused_it(self):
        downtime = self.assertApplied(self.post_one(
            'downtime', workcenter='Drill 1', reason='Equipment Failure',
            start='2026-11-26T07:50:00+00:00', end='2026-11-26T08:30:00+00:00'), 'mrp.workcenter.productivity')
        open_logs = [('workcenter_id', '=', self.drill_1.id), ('date_end', '=', False)]
        logs_before = self.env['mrp.workcenter.productivity'].search(open_logs)
        request = self.assertApplied(self.post_one(
            'maintenance', workcenter='Drill 1', kind='corrective', description='Spindle seized',
            occurredAt='2026-11-26T08:05:00+00:00'), 'maintenance.request')
        self.assertEqual(request.plant_bridge_productivity_id, downtime)
        self.assertEqual(self.env['mrp.workcenter.productivity'].search(open_logs), logs_before,
                         "the downtime is linked, no block of its own")

    def test_a_running_machine_leaves_the_block_of_an_open_repair(self):
        """The plant owns machine states, and a running machine ends a block left open in Odoo
        (handlers/machine_status.py) - but not the one a corrective request holds: the work
        center stays blocked until the repair is done."""
        request = self.assertApplied(self.post_one(
            'maintenance', workcenter='Assembly 2', kind='corrective', description='Belt torn',
            occurredAt='2026-11-26T08:00:00+00:00'), 'maintenance.request')
        block = request.plant_bridge_productivity_id
        self.assertApplied(self.post_one('machine_status', workcenter='Assembly 2', status='running',
                                         occurredAt='2026-11-26T08:10:00+00:00'), 'mrp.workcenter')
        self.assertRecordValues(block, [{'date_end': False}])
        self.assertEqual(self.assembly_2.working_state, 'blocked')

    def test_corrective_request_ends_running_timers_as_the_block_button(self):
        """Blocking a work center for a repair ends the work orders running on it (Block's
        button_block), so no productive and blocked time at once; a preventive request does not."""
        mo = self.mo_desk
        workorder = mo.workorder_ids.filtered(lambda wo: wo.name == 'Manual Assembly')
        workcenter = workorder.workcenter_id
        self.post_one('workorder_status', order=mo.name, operation='Manual Assembly', status='started',
                      occurredAt=self.now().isoformat() + '+00:00')
        self.assertEqual(workorder.state, 'progress')
        running = workorder.time_ids.filtered(lambda t: not t.date_end)
        self.assertTrue(running)
        code = workcenter.code or workcenter.name
        self.assertApplied(self.post_one('maintenance', workcenter=code, kind='preventive', description='Oil'),
                           'maintenance.request')
        self.assertFalse(running.date_end, "a preventive request does not stop the work")
        request = self.assertApplied(self.post_one(
            'maintenance', workcenter=code, kind='corrective', description='Belt torn',
            occurredAt=self.now().replace(microsecond=0).isoformat() + '+00:00'), 'maintenance.request')
        self.assertTrue(running.date_end, "the running timer ended")
        self.assertEqual(workcenter.working_state, 'blocked')
        self.assertRecordValues(request.plant_bridge_productivity_id, [{
            'loss_id': self.env.ref('mrp.block_reason1').id, 'date_end': False, 'workcenter_id': workcenter.id}])
        request.stage_id = self.done_stage
        self.assertTrue(request.plant_bridge_productivity_id.date_end)
        self.assertEqual(workcenter.working_state, 'normal')

    def test_rejections(self):
        self.assertRejected(self.post_one('maintenance', equipment='Flux capacitor', kind='corrective',
                                          description='x'), 'unknown_equipment')
        self.assertRejected(self.post_one('maintenance', workcenter='Nowhere', kind='corrective', description='x'),
                            'unknown_workcenter')
        self.assertRejected(self.post_one('maintenance', workcenter='Drill 1', kind='cosmetic', description='x'),
                            'schema')
        self.assertRejected(self.post_one('maintenance', kind='corrective', description='x'), 'schema')


@tagged('post_install', '-at_install', 'plant_bridge')
class TestMaintenanceDifferential(PlantBridgeCase):
    """A request typed in Odoo's request form (and the work center blocked with its Block
    button) against the same problem reported by the plant: the same records."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        team = cls.env.ref('maintenance.equipment_team_metrology')
        category = cls.env.ref('maintenance.equipment_monitor')
        # two idle work centers, one per twin
        cls.line_manual, cls.line_events = cls.env['mrp.workcenter'].create(
            [{'name': 'PB Press Line M'}, {'name': 'PB Press Line E'}])
        Equipment = cls.env['maintenance.equipment']
        cls.press_manual, cls.press_events = (Equipment.create({
            'name': f'PB Press {tag}', 'serial_no': f'PB-PRESS-{tag}', 'category_id': category.id,
            'maintenance_team_id': team.id, 'technician_user_id': cls.env.ref('base.user_demo').id,
            'plant_bridge_workcenter_id': workcenter.id,
        }) for tag, workcenter in (('M', cls.line_manual), ('E', cls.line_events)))
        cls.pump_manual, cls.pump_events = (Equipment.create({'name': f'PB Pump {tag}'}) for tag in 'ME')

    def now_iso(self):
        """Now, as the plant reports it; the site's day is the form user's day."""
        self.site.timezone = self.env.user.tz or 'UTC'
        self.reported_at = self.now().replace(microsecond=0)
        return self.reported_at.isoformat() + '+00:00'

    def request_snapshot(self, request):
        self.env.flush_all()
        self.env.invalidate_all()
        return {
            'name': request.name, 'description': str(request.description), 'type': request.maintenance_type,
            'equipment': request.equipment_id.name[:-2] if request.equipment_id else False,
            'category': request.category_id.name, 'team': request.maintenance_team_id.name,
            'technician': request.user_id.name, 'company': request.company_id.name,
            'request_date': request.request_date, 'schedule_date': request.schedule_date,
            'stage': request.stage_id.name, 'kanban_state': request.kanban_state, 'priority': request.priority,
            'archive': request.archive, 'close_date': request.close_date,
        }

    def block_snapshot(self, workcenter):
        self.env.flush_all()
        self.env.invalidate_all()
        return {
            'working_state': workcenter.working_state,
            'open_logs': [(log.loss_id.name, log.loss_type, log.description)
                          for log in self.env['mrp.workcenter.productivity'].search(
                              [('workcenter_id', '=', workcenter.id), ('date_end', '=', False)])],
        }

    def form_request(self, equipment, name, kind, workcenter=None):
        """The request form, typed when the problem is seen (its Request Date is today, read-only)."""
        with Form(self.env['maintenance.request']) as form:
            form.name = name
            form.description = f'<p>{name}</p>'  # what the editor makes of a typed line
            form.maintenance_type = kind
            form.equipment_id = equipment
            if workcenter:
                form.plant_bridge_workcenter_id = workcenter
        return form.record

    def test_request_from_the_form(self):
        manual = self.form_request(self.pump_manual, 'Pump leaking', 'preventive')
        events = self.assertApplied(self.post_one(
            'maintenance', equipment='PB Pump E', kind='preventive', description='Pump leaking',
            occurredAt=self.now_iso()), 'maintenance.request')
        self.maxDiff = None
        self.assertEqual(self.request_snapshot(events), self.request_snapshot(manual))

    def test_corrective_request_blocks_the_work_center_as_the_block_button(self):
        """A person who stops a machine for repair opens the request and blocks its work center
        ('Equipment Failure'); closing the request, they unblock it."""
        manual = self.form_request(self.press_manual, 'Hydraulic leak', 'corrective', workcenter=self.line_manual)
        action = self.env['ir.actions.actions']._for_xml_id('mrp.act_mrp_block_workcenter')
        with Form(self.env['mrp.workcenter.productivity'].with_context(default_workcenter_id=self.line_manual.id),
                  view=action['view_id'][0]) as block:
            block.loss_id = self.env.ref('mrp.block_reason1')
            block.description = 'Hydraulic leak'
        block.record.button_block()
        events = self.assertApplied(self.post_one(
            'maintenance', workcenter='PB Press Line E', kind='corrective', description='Hydraulic leak',
            occurredAt=self.now_iso()), 'maintenance.request')
        self.maxDiff = None
        self.assertEqual(self.request_snapshot(events), self.request_snapshot(manual))
        self.assertEqual(self.block_snapshot(self.line_events), self.block_snapshot(self.line_manual))
        self.assertEqual(self.block_snapshot(self.line_events)['working_state'], 'blocked')
        self.assertEqual(events.plant_bridge_productivity_id.date_start, self.reported_at)
        # done with the repair
        done = self.env['maintenance.stage'].search([('done', '=', True)], limit=1)
        manual.stage_id = done
        self.line_manual.unblock()
        events.stage_id = done
        self.assertEqual(self.block_snapshot(self.line_events), self.block_snapshot(self.line_manual))
        self.assertEqual(self.block_snapshot(self.line_events)['working_state'], 'normal')
