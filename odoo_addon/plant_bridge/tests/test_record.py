import base64
import hashlib

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import PlantBridgeCase


def sha(data):
    return hashlib.sha256(data).hexdigest()


@tagged('post_install', '-at_install', 'plant_bridge')
class TestComplianceRecord(PlantBridgeCase):
    """`record`: certificates, test reports, batch records and measurement sets for a lot, an
    order or a delivery, and the customer they are for; listed on the lot and found by the
    customer the lots were shipped to."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.beam = cls.env['product.product'].create({
            'name': 'PB Beam', 'default_code': 'PB_BEAM', 'is_storable': True, 'tracking': 'lot'})
        cls.warehouse = cls.site.warehouse_id
        cls.stock = cls.warehouse.lot_stock_id
        cls.shipped_lot = cls.env['stock.lot'].create({'name': 'PB-B1', 'product_id': cls.beam.id})
        cls.kept_lot = cls.env['stock.lot'].create({'name': 'PB-B2', 'product_id': cls.beam.id})
        for lot in cls.shipped_lot | cls.kept_lot:
            cls.env['stock.quant']._update_available_quantity(cls.beam, cls.stock, 5, lot_id=lot)
        cls.customer = cls.env['res.partner'].create({'name': 'PB Bridges Ltd', 'ref': 'C-0042',
                                                      'is_company': True})
        cls.buyer = cls.env['res.partner'].create({'name': 'Ann Buyer', 'parent_id': cls.customer.id})
        cls.other = cls.env['res.partner'].create({'name': 'PB Other Customer', 'is_company': True})

    def delivery(self, lot, partner, quantity=2, validate=True):
        """A delivery of `lot` to `partner` as a person validates it in Odoo's Delivery screen."""
        customers = self.env.ref('stock.stock_location_customers')
        picking = self.env['stock.picking'].create({
            'picking_type_id': self.warehouse.out_type_id.id, 'partner_id': partner.id,
            'location_id': self.stock.id, 'location_dest_id': customers.id,
            'move_ids': [Command.create({'product_id': lot.product_id.id, 'product_uom_qty': quantity,
                                         'location_id': self.stock.id, 'location_dest_id': customers.id})],
        })
        picking.action_confirm()
        picking.move_ids.move_line_ids.unlink()
        self.env['stock.move.line'].create(dict(picking.move_ids._prepare_move_line_vals(quantity=quantity),
                                                lot_id=lot.id))
        picking.move_ids.picked = True
        if validate:
            picking.button_validate()
        return picking

    def record(self, **fields_):
        content = fields_.pop('data', b'CoC: tensile 412 MPa, OK')
        fields_.setdefault('kind', 'certificate_of_conformity')
        if 'uri' not in fields_:
            fields_.setdefault('content', content.decode())
        fields_.setdefault('sha256', sha(content))
        return self.post_one('record', **fields_)

    # ------------------------------------------------------------------ recorded
    def test_inline_certificate_on_a_lot(self):
        record = self.assertApplied(
            self.record(lot='PB-B1', product='PB_BEAM', customer='C-0042', title='CoC 2026-0001',
                        mediaType='text/plain'), 'plant_bridge.record')
        self.assertRecordValues(record, [{
            'name': 'CoC 2026-0001', 'kind': 'certificate_of_conformity', 'site_id': self.site.id,
            'lot_id': self.shipped_lot.id, 'product_id': self.beam.id, 'partner_id': self.customer.id,
            'sha256': sha(b'CoC: tensile 412 MPa, OK'), 'uri': False, 'media_type': 'text/plain', 'size': 24,
        }])
        self.assertEqual(base64.b64decode(record.content), b'CoC: tensile 412 MPa, OK')
        # listed on the lot form, and the trace row names the lot
        self.assertEqual(self.shipped_lot.plant_bridge_record_ids, record)
        self.assertRecordValues(self.Message.search([('res_model', '=', 'plant_bridge.record')]),
                                [{'lot_id': self.shipped_lot.id, 'product_id': self.beam.id}])

    def test_base64_measurements_on_an_order_without_lot_product(self):
        data = bytes(range(256)) * 4
        record = self.assertApplied(self.record(kind='measurements', order=self.mo_desk.name, data=b'x',
                                                content=base64.b64encode(data).decode(), encoding='base64',
                                                sha256=sha(data)), 'plant_bridge.record')
        self.assertRecordValues(record, [{'production_id': self.mo_desk.id, 'product_id': self.mo_desk.product_id.id,
                                          'lot_id': False, 'size': 1024, 'name': f"Measurements {self.mo_desk.name}"}])
        self.assertEqual(base64.b64decode(record.content), data)

    def test_by_uri_on_a_delivery_for_its_customer(self):
        picking = self.delivery(self.shipped_lot, self.buyer, validate=False)
        digest = 'A' * 64
        record = self.assertApplied(self.record(kind='test_report', delivery=picking.name, lot='PB-B1',
                                                uri='https://docs.plant.example/reports/77.pdf', sha256=digest),
                                    'plant_bridge.record')
        # the delivery's customer (its company, not the contact on the picking); the lot found by its name
        self.assertRecordValues(record, [{'picking_id': picking.id, 'partner_id': self.customer.id,
                                          'lot_id': self.shipped_lot.id, 'sha256': 'a' * 64,
                                          'uri': 'https://docs.plant.example/reports/77.pdf', 'size': 0}])
        self.assertFalse(record.content)

    # ------------------------------------------------------------------ refused
    def test_rejections(self):
        self.assertRejected(self.record(lot='PB-B1', product='PB_BEAM', sha256=sha(b'other')), 'bad_digest')
        big = b'x' * 65537
        self.assertRejected(self.record(lot='PB-B1', product='PB_BEAM', data=big), 'too_large')
        self.assertRejected(self.record(lot='PB-B1', product='PB_BEAM', customer='Nobody Inc'), 'unknown_customer')
        self.assertRejected(self.record(delivery='WH/OUT/99999'), 'unknown_picking')
        self.assertRejected(self.record(lot='NOPE', product='PB_BEAM'), 'unknown_lot')
        self.assertRejected(self.record(lot='NOPE'), 'unknown_lot')
        self.assertRejected(self.record(order='WH/MO/404'), 'unknown_order')
        self.assertRejected(self.record(lot='PB-B1', product='NOPE'), 'unknown_product')
        self.assertRejected(self.record(lot='PB-B1', uri='javascript:alert(1)', sha256='a' * 64), 'schema')
        self.assertRejected(self.record(lot='PB-B1', uri='https://x/y', content='z', sha256=sha(b'z')), 'schema')
        self.assertRejected(self.record(lot='PB-B1', kind='love_letter'), 'schema')
        self.assertRejected(self.record(lot='PB-B1', sha256='not-a-digest'), 'schema')
        self.assertRejected(self.record(lot='PB-B1', content='%%%', encoding='base64', sha256='a' * 64), 'schema')
        self.assertRejected(self.record(lot='PB-B1', mediaType='text/html\r\nX-Injected: 1'), 'schema')
        self.assertRejected(self.record(), 'schema')
        self.assertFalse(self.env['plant_bridge.record'].search([]))

    # ------------------------------------------------------------------ found
    def test_every_record_for_the_lots_shipped_to_a_customer(self):
        """One query: the records of what went to the customer (to any of its contacts), not those
        of lots kept or shipped to someone else."""
        self.delivery(self.shipped_lot, self.buyer)
        self.delivery(self.kept_lot, self.other)
        picking = self.delivery(self.kept_lot, self.customer, validate=False)
        Record = self.env['plant_bridge.record']
        coc = self.assertApplied(self.record(lot='PB-B1', product='PB_BEAM'), 'plant_bridge.record')
        report = self.assertApplied(self.record(kind='test_report', lot='PB-B1', product='PB_BEAM',
                                                uri='s3://qa/PB-B1.pdf', sha256='b' * 64), 'plant_bridge.record')
        on_delivery = self.assertApplied(self.record(kind='other', delivery=picking.name, uri='file://qa/x',
                                                     sha256='c' * 64), 'plant_bridge.record')
        elsewhere = self.assertApplied(self.record(lot='PB-B2', product='PB_BEAM', customer='PB Other Customer'),
                                       'plant_bridge.record')
        self.assertEqual(Record.search([('shipped_partner_ids', 'in', self.customer.ids)]), coc | report | on_delivery)
        self.assertEqual(Record.search([('shipped_partner_ids', 'in', self.other.ids)]), elsewhere)
        self.assertEqual(coc.shipped_partner_ids, self.customer)
        # the same through the read API (GraphQL's complianceRecords(filter: {shippedTo}))
        page = self.api.read_records('main', {'shippedTo': 'C-0042'})
        self.assertEqual({r['id'] for r in page['items']}, set((coc | report | on_delivery).ids))
        self.assertEqual(page['has_more'], False)
        self.assertEqual([r['title'] for r in self.api.read_records('main', {'customer': 'PB Other Customer'})['items']],
                         [elsewhere.name])
        lots = self.api.read_lots('main', ['PB-B1'])
        self.assertEqual([r['id'] for r in lots[0]['records']], (coc | report).sorted('id').ids)
        self.assertEqual(lots[0]['records'][1], {
            'id': report.id, 'kind': 'test_report', 'title': 'Certificate of Conformity PB-B1'.replace(
                'Certificate of Conformity', 'Test Report'), 'occurred_at': '2026-11-26T08:00:00+00:00',
            'lot': 'PB-B1', 'product': 'PB_BEAM', 'order': None, 'delivery': None, 'customer': None,
            'sha256': 'b' * 64, 'uri': 's3://qa/PB-B1.pdf', 'media_type': None, 'size': None})

    def test_users_see_the_records_of_their_sites_only(self):
        record = self.assertApplied(self.record(lot='PB-B1', product='PB_BEAM'), 'plant_bridge.record')
        site_user = new_test_user(self.env, 'pb_rec_user', groups='plant_bridge.group_user')
        self.site.user_ids |= site_user
        stranger = new_test_user(self.env, 'pb_rec_stranger', groups='plant_bridge.group_user')
        Record = self.env['plant_bridge.record']
        self.assertEqual(Record.with_user(site_user).search([]), record)
        self.assertFalse(Record.with_user(stranger).search([]))
        # evidence: nobody edits it in Odoo
        with self.assertRaises(AccessError):
            record.with_user(site_user).write({'sha256': 'd' * 64})
