import itertools

from odoo import Command, fields
from odoo.tests import Form, TransactionCase, new_test_user

_counter = itertools.count(1)


class PlantBridgeCase(TransactionCase):
    """Runs on a database with mrp/maintenance demo data and plant_bridge installed.

    Events are posted as the connector service account, the way the sidecar does.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site = cls.env.ref('plant_bridge.site_main')
        cls.connector_user = cls.env['res.users'].create({
            'name': 'Plant Bridge Sidecar',
            'login': 'pb_sidecar_test',
            'group_ids': [Command.set(cls.env.ref('plant_bridge.group_connector').ids)],
            'plant_bridge_site_ids': [Command.set(cls.site.ids)],
        })
        cls.api = cls.env['plant_bridge.api'].with_user(cls.connector_user)
        cls.Message = cls.env['plant_bridge.message']
        cls.mo_desk = cls.env.ref('mrp.mrp_production_1')      # WH/MO/00001, confirmed, untracked, 3 units
        cls.mo_table = cls.env.ref('mrp.mrp_production_3')     # WH/MO/00002, draft, serial-tracked
        cls.mo_table_top = cls.env.ref('mrp.mrp_production_4')  # WH/MO/00003, confirmed, serial-tracked
        cls.mo_done = cls.env.ref('mrp.mrp_production_drawer')  # WH/MO/00004, done, lot-tracked
        cls.assembly_1 = cls.env.ref('mrp.mrp_workcenter_3')
        cls.drill_1 = cls.env.ref('mrp.mrp_workcenter_1')
        cls.assembly_2 = cls.env.ref('mrp.mrp_workcenter_2')

    def event(self, event_type, **fields_):
        event = {
            'id': f'test-{event_type}-{next(_counter)}',
            'type': event_type,
            'site': 'main',
            'occurredAt': '2026-11-26T08:00:00+00:00',
            'source': 'mqtt',
        }
        event.update(fields_)
        return event

    def post(self, *events, api=None):
        return (api or self.api).post_events(list(events), sidecar='test-sidecar')

    def post_one(self, event_type, **fields_):
        event = self.event(event_type, **fields_)
        return self.post(event)[0]

    def message_of(self, result):
        return self.Message.browse(result['message_id'])

    def assertRejected(self, result, code):
        self.assertEqual((result['status'], result.get('code')), ('rejected', code), result.get('message'))
        self.assertRecordValues(self.message_of(result), [{
            'state': 'rejected', 'error_code': code, 'rejected_by': 'odoo', 'attempts': 1}])

    def discard(self, result, reason="Judged on its own in this test"):
        """Settle a rejected event, so that it no longer holds its order's later stock movements."""
        self.message_of(result)._discard(reason)

    def assertApplied(self, result, model):
        self.assertEqual(result['status'], 'applied', result.get('message'))
        self.assertEqual(result['ref']['model'], model)
        self.assertRecordValues(self.message_of(result), [{
            'state': 'applied', 'error_code': False, 'res_model': model, 'res_id': result['ref']['id']}])
        return self.env[model].browse(result['ref']['id'])

    def new_mo(self, product_xmlid='mrp.product_product_computer_desk', qty=2.0, confirm=True):
        form = Form(self.env['mrp.production'])
        form.product_id = self.env.ref(product_xmlid)
        form.product_qty = qty
        production = form.save()
        if confirm:
            production.action_confirm()
        return production

    @staticmethod
    def now():
        return fields.Datetime.now()
