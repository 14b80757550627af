import json

from odoo import Command
from odoo.tests import Form, new_test_user, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSiteOnboard(PlantBridgeCase):
    """*New Plant*: a site with its warehouse, time zone and system-of-record matrix, and the
    configuration of a template plant copied onto the new site's records — never its secrets."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login='pb_onboard_manager', tz='America/New_York',
                                    groups='base.group_user,plant_bridge.group_manager,stock.group_stock_manager')
        cls.env.company.partner_id.tz = 'Europe/Berlin'
        cls.lyon = cls.env['res.partner'].create({'name': 'Lyon plant', 'tz': 'Europe/Paris'})
        cls.warehouse = cls.env['stock.warehouse'].create({'name': 'Plant Lyon', 'code': 'LYO',
                                                           'partner_id': cls.lyon.id})
        # the template plant
        cls.template = cls.env['plant_bridge.site'].create({
            'name': 'Template plant', 'code': 'tpl', 'warehouse_id': cls.warehouse.id, 'timezone': 'UTC'})
        Connector = cls.env['plant_bridge.connector']
        cls.tpl_sql = Connector.create({
            'name': 'MES log', 'site_id': cls.template.id, 'kind': 'sql_source',
            'params': json.dumps({'driver': 'postgres', 'host': 'mes-db', 'query': 'SELECT 1',
                                  'watermarkColumn': 'id', 'keyColumn': 'id'}),
            'secrets': json.dumps({'password': 'template-db-pw'})})
        cls.tpl_mqtt = Connector.create({
            'name': 'Broker', 'site_id': cls.template.id, 'kind': 'mqtt',
            'params': json.dumps({'url': 'mqtt://broker:1883', 'topics': ['plant/+/status']}),
            'secrets': json.dumps({'password': 'template-mqtt-pw'})})
        cls.tpl_mapping = cls.env['plant_bridge.mapping'].create({
            'name': 'Status', 'site_id': cls.template.id, 'connector_id': cls.tpl_mqtt.id,
            'selector': 'plant/{line}/status', 'event_type': 'machine_status',
            'expression': '{"state": state}', 'state': 'active'})
        cls.tpl_schedule = cls.env['plant_bridge.schedule'].create({
            'name': 'MES every minute', 'site_id': cls.template.id, 'connector_id': cls.tpl_sql.id,
            'mapping_id': cls.tpl_mapping.id, 'cron': '* * * * *'})
        cls.env['plant_bridge.binding'].create({
            'site_id': cls.template.id, 'group_id': 'plant', 'edge_node': 'line1', 'device': 'press',
            'workcenter_id': cls.assembly_1.id, 'state': 'confirmed', 'metrics': '[]'})

    def wizard(self, **values):
        form = Form(self.env['plant_bridge.site.onboard'].with_user(self.manager))
        for name, value in values.items():
            setattr(form, name, value)
        return form

    def step(self, form, step):
        """The wizard saved and taken to `step` with its Next button, as a form again."""
        wizard = form.save()
        while wizard.step != step:
            wizard.action_next()
        return Form(wizard)

    def test_time_zone_from_the_warehouse_then_company_then_user(self):
        form = self.wizard(name='Lyon', warehouse_id=self.warehouse)
        self.assertEqual(form.timezone, 'Europe/Paris')
        self.lyon.tz = False
        form.warehouse_id = self.env['stock.warehouse'].browse()
        form.warehouse_id = self.warehouse
        self.assertEqual(form.timezone, 'Europe/Berlin')
        self.env.company.partner_id.tz = False
        form.warehouse_id = self.env['stock.warehouse'].browse()
        form.warehouse_id = self.warehouse
        self.assertEqual(form.timezone, 'America/New_York')

    def test_a_plant_from_a_template_gets_its_configuration_not_its_secrets(self):
        revision = self.env['plant_bridge.config.revision']._current()
        form = self.wizard(name='Lyon Plant', warehouse_id=self.warehouse)
        self.assertEqual(form.code, 'lyon-plant')
        form = self.step(form, 'template')
        form.template_site_id = self.template
        self.assertEqual(form.template_summary, "2 connector(s), 1 mapping(s), 1 binding(s), 1 schedule(s)")
        self.assertEqual([(line['connector_name'], line['key'], line['value'])
                          for line in form.secret_line_ids._records],
                         [('Broker', 'password', False), ('MES log', 'password', False)], "names only, no value")
        with form.secret_line_ids.edit(1) as line:
            line.value = 'lyon-db-pw'
        wizard = form.save()
        action = wizard.action_create()

        site = self.env['plant_bridge.site'].search([('code', '=', 'lyon-plant')])
        self.assertRecordValues(site, [{'name': 'Lyon Plant', 'warehouse_id': self.warehouse.id,
                                        'timezone': 'Europe/Paris'}])
        self.assertEqual((action['res_model'], action['context']['active_ids']),
                         ('plant_bridge.sidecar.connect', site.ids), "ends in Connect a Sidecar for the new site")
        connectors = site.connector_ids.sorted('name')
        self.assertRecordValues(connectors, [
            {'name': 'Broker', 'kind': 'mqtt', 'params': self.tpl_mqtt.params},
            {'name': 'MES log', 'kind': 'sql_source', 'params': self.tpl_sql.params},
        ])
        broker, mes = connectors
        self.assertEqual(json.loads(broker.secrets), {}, "not typed: not copied either")
        self.assertEqual(json.loads(mes.secrets), {'password': 'lyon-db-pw'})
        self.assertRecordValues(site.mapping_ids, [{'name': 'Status', 'connector_id': broker.id, 'state': 'active',
                                                    'selector': 'plant/{line}/status'}])
        schedule = self.env['plant_bridge.schedule'].search([('site_id', '=', site.id)])
        self.assertRecordValues(schedule, [{'name': 'MES every minute', 'connector_id': mes.id,
                                            'mapping_id': site.mapping_ids.id, 'cron': '* * * * *'}])
        binding = self.env['plant_bridge.binding'].search([('site_id', '=', site.id)])
        self.assertRecordValues(binding, [{'source': 'plant/line1/press', 'state': 'proposed'}])
        # what the new plant's sidecar gets: its own records, none of the template's secrets
        site.user_ids = [Command.link(self.connector_user.id)]
        served = json.dumps(self.api.get_config('lyon-plant'))
        self.assertNotIn('template-db-pw', served)
        self.assertNotIn('template-mqtt-pw', served)
        self.assertGreater(self.env['plant_bridge.config.revision']._current(), revision)
        self.assertTrue(self.env['plant_bridge.config.revision'].search_count([('site_id', '=', site.id)]))
        audit = self.env['plant_bridge.audit'].search([('action', '=', 'site.onboard')], order='seq desc', limit=1)
        self.assertRecordValues(audit, [{'res_model': 'plant_bridge.site', 'res_id': site.id,
                                         'actor_id': self.manager.id}])
        self.assertEqual(json.loads(audit.payload)['template'], 'tpl')
        self.assertNotIn('lyon-db-pw', audit.payload)

    def test_system_of_record_recommended_and_changed(self):
        form = self.step(self.wizard(name='Lyon', warehouse_id=self.warehouse), 'matrix')
        lines = form.record.sor_line_ids
        owners = {line.domain: (line.owner, line.recommended) for line in lines}
        self.assertEqual(owners['lots'], ('plant', 'plant'))
        self.assertEqual(owners['boms'], ('odoo', 'odoo'))
        self.assertTrue(all(line.reason for line in lines), "each recommendation says why")
        with form.sor_line_ids.edit(lines.mapped('domain').index('lots')) as line:
            line.owner = 'odoo'
        form.save().action_create()
        site = self.env['plant_bridge.site'].search([('code', '=', 'lyon')])
        self.assertEqual(site._sor_owner('lots'), 'odoo')
        self.assertEqual(site._sor_owner('consumption'), 'plant')
        self.assertEqual(len(site.sor_ids), len(lines))

    def test_a_new_warehouse_at_the_plants_address(self):
        bordeaux = self.env['res.partner'].create({'name': 'Bordeaux plant', 'tz': 'Europe/Paris'})
        self.env.company.partner_id.tz = 'Asia/Tokyo'
        form = self.wizard(name='Bordeaux', warehouse_mode='new', partner_id=bordeaux)
        self.assertEqual((form.warehouse_name, form.warehouse_short, form.timezone),
                         ('Bordeaux', 'BORDE', 'Europe/Paris'))
        form.save().action_create()
        site = self.env['plant_bridge.site'].search([('code', '=', 'bordeaux')])
        self.assertRecordValues(site.warehouse_id, [{'name': 'Bordeaux', 'code': 'BORDE',
                                                     'partner_id': bordeaux.id}])
        self.assertEqual(site.timezone, 'Europe/Paris')
        self.assertIn(self.manager, site.user_ids)

    def test_a_taken_code_is_refused_before_anything_is_made(self):
        form = self.wizard(name='Again', code='tpl', warehouse_id=self.warehouse)
        with self.assertRaisesRegex(Exception, 'tpl'):
            form.save().action_next()
        self.assertEqual(self.env['plant_bridge.site'].search_count([('code', '=', 'tpl')]), 1)

    def test_the_new_plant_is_shown_once_its_sidecar_dialog_closes(self):
        """The Sites list behind the dialogs does not reload by itself: closing *Connect a Sidecar*
        (Done, or Later without connecting) opens the new plant."""
        form = self.wizard(name='Reims Plant', warehouse_id=self.warehouse)
        action = form.save().action_create()
        site = self.env['plant_bridge.site'].search([('code', '=', 'reims-plant')])
        connect = self.env['plant_bridge.sidecar.connect'].with_user(self.manager).with_context(
            action['context']).create({})
        self.assertEqual(connect.onboarded_site_id, site)
        opened = connect.action_later()
        self.assertEqual((opened['res_model'], opened['res_id'], opened['view_mode']),
                         ('plant_bridge.site', site.id, 'form'))
        # outside New Plant, closing the dialog only closes it
        plain = self.env['plant_bridge.sidecar.connect'].with_user(self.manager).with_context(
            active_model='plant_bridge.site', active_ids=site.ids).create({})
        self.assertEqual(plain.action_later(), {'type': 'ir.actions.act_window_close'})
