import json

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestReconciliation(PlantBridgeCase):
    """The legacy side's totals against Odoo: a difference is recorded with the event that would
    correct it, and accepting posts that event through the standard posting flow, once."""

    def reconcile(self, lines, key='rec-1'):
        answer = self.api.reconcile('main', key, lines, source='MES totals', sidecar='edge-1')
        return self.env['plant_bridge.reconciliation'].browse(answer['reconciliation_id']), answer

    def test_finds_an_injected_difference_and_accepting_corrects_it(self):
        mo = self.mo_desk  # confirmed, 3 units
        self.assertEqual(self.post_one('production', order=mo.name, quantity=1)['status'], 'applied')
        rec, answer = self.reconcile([
            {'order': mo.name, 'shift': 'A', 'produced': 2},
            {'order': mo.name, 'shift': 'B', 'produced': 1},  # shifts without a window are summed
        ])
        self.assertEqual(answer, {'reconciliation_id': rec.id, 'compared': 1, 'differences': 1})
        self.assertRecordValues(rec, [{'source': 'MES totals', 'sidecar': 'edge-1', 'state': 'open',
                                       'open_count': 1, 'compared_count': 1}])
        line = rec.line_ids
        self.assertRecordValues(line, [{
            'order': mo.name, 'production_id': mo.id, 'measure': 'produced', 'product_id': mo.product_id.id,
            'legacy_qty': 3.0, 'odoo_qty': 1.0, 'difference': 2.0, 'state': 'open', 'note': False}])
        self.assertEqual(json.loads(line.correction), {'type': 'production', 'order': mo.name, 'quantity': 2.0,
                                                        'uom': 'Units'})

        line.action_accept()
        self.assertRecordValues(mo, [{'qty_producing': 3.0}])
        self.assertRecordValues(line, [{'state': 'accepted', 'error': False}])
        self.assertRecordValues(line.message_id, [{
            'key': f'reconciliation:{line.id}', 'state': 'applied', 'event_type': 'production',
            'production_id': mo.id, 'origin': f'reconciliation:{rec.id}'}])
        self.assertRecordValues(rec, [{'state': 'done', 'open_count': 0}])
        # accepting again posts nothing twice
        line.write({'state': 'open'})
        line.action_accept()
        self.assertRecordValues(mo, [{'qty_producing': 3.0}])

        # the next comparison finds nothing
        again, answer = self.reconcile([{'order': mo.name, 'produced': 3}], key='rec-2')
        self.assertEqual((answer['differences'], again.state), (0, 'done'))

    def test_the_same_comparison_is_filed_once(self):
        lines = [{'order': self.mo_desk.name, 'produced': 2}]
        first, _a = self.reconcile(lines)
        second, _b = self.reconcile(lines)
        self.assertEqual(first, second)

    def test_scrap_and_consumption_corrections(self):
        mo = self.mo_desk
        component = mo.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_0269')
        self.post_one('consumption', order=mo.name, product='FURN_0269', quantity=1)
        rec, answer = self.reconcile([
            {'order': mo.name, 'scrapped': 1},
            {'order': mo.name, 'product': 'FURN_0269', 'consumed': 1.5},
            {'order': mo.name, 'product': 'FURN_0269', 'consumed': 1},
        ])
        self.assertEqual(answer['differences'], 2)
        scrapped = rec.line_ids.filtered(lambda l: l.measure == 'scrapped')
        consumed = rec.line_ids.filtered(lambda l: l.measure == 'consumed')
        self.assertRecordValues(scrapped, [{'legacy_qty': 1.0, 'odoo_qty': 0.0, 'difference': 1.0}])
        self.assertRecordValues(consumed, [{'legacy_qty': 2.5, 'odoo_qty': 1.0, 'difference': 1.5,
                                            'product_id': component.product_id.id}])
        rec.action_accept_all()
        self.assertRecordValues(rec.line_ids, [{'state': 'accepted'}, {'state': 'accepted'}])
        scrap = self.env['stock.scrap'].search([('production_id', '=', mo.id)])
        self.assertRecordValues(scrap, [{'product_id': mo.product_id.id, 'scrap_qty': 1.0, 'state': 'done'}])
        self.assertRecordValues(component, [{'quantity': 2.5, 'picked': True}])

    def test_per_shift_windows_compare_what_was_reported_in_them(self):
        mo = self.mo_desk
        self.post_one('production', order=mo.name, quantity=1, occurredAt='2026-11-26T07:00:00+00:00')
        self.post_one('production', order=mo.name, quantity=1, occurredAt='2026-11-26T15:00:00+00:00')
        rec, answer = self.reconcile([
            {'order': mo.name, 'shift': 'early', 'shift_start': '2026-11-26T06:00:00+00:00',
             'shift_end': '2026-11-26T14:00:00+00:00', 'produced': 1},
            {'order': mo.name, 'shift': 'late', 'shift_start': '2026-11-26T14:00:00+00:00',
             'shift_end': '2026-11-26T22:00:00+00:00', 'produced': 2},
        ])
        self.assertEqual((answer['compared'], answer['differences']), (2, 1))
        self.assertRecordValues(rec.line_ids, [{
            'shift': 'late', 'legacy_qty': 2.0, 'odoo_qty': 1.0, 'difference': 1.0}])
        self.assertEqual(str(rec.line_ids.shift_start), '2026-11-26 14:00:00')

    def test_differences_without_a_correction(self):
        mo = self.mo_desk
        self.post_one('production', order=mo.name, quantity=2)
        rec, _answer = self.reconcile([
            {'order': mo.name, 'produced': 1},          # Odoo has more
            {'order': 'WH/MO/99999', 'produced': 4},    # unknown order
            {'order': self.mo_done.name, 'produced': 99},  # done order
        ])
        by_order = {line.order: line for line in rec.line_ids}
        self.assertRecordValues(by_order[mo.name], [{'difference': -1.0, 'correction': False}])
        self.assertIn('more than the legacy side', by_order[mo.name].note)
        self.assertRecordValues(by_order['WH/MO/99999'], [{'production_id': False, 'correction': False}])
        self.assertRecordValues(by_order[self.mo_done.name], [{'correction': False}])
        rec.line_ids.action_accept()  # nothing to accept
        self.assertRecordValues(rec.line_ids, [{'state': 'open'}] * 3)
        rec.line_ids.action_dismiss()
        self.assertEqual(rec.state, 'done')

    def test_a_rejected_correction_stays_visible(self):
        mo = self.mo_desk.copy()
        mo.action_confirm()
        rec, _answer = self.reconcile([{'order': mo.name, 'produced': 1}])
        self.assertTrue(rec.line_ids.correction)
        mo.action_cancel()  # the order changed meanwhile
        rec.line_ids.action_accept()
        self.assertRecordValues(rec.line_ids, [{'state': 'failed'}])
        self.assertTrue(rec.line_ids.error)
        self.assertEqual(rec.state, 'open')

    def test_malformed_totals_and_access(self):
        for lines in ('x', [{'produced': 1}], [{'order': 'WH/MO/00001', 'produced': -1}],
                      [{'order': 'WH/MO/00001', 'produced': 'many'}],
                      [{'order': 'WH/MO/00001', 'consumed': 1}],
                      [{'order': 'WH/MO/00001', 'produced': 1, 'shift_start': '2026-11-26T06:00:00Z'}]):
            with self.subTest(lines=lines), self.assertRaises(UserError):
                self.api.reconcile('main', 'bad', lines)
        operator = self.env['res.users'].create({
            'name': 'Operator', 'login': 'pb_operator_rec',
            'group_ids': [Command.set(self.env.ref('plant_bridge.group_user').ids)]})
        with self.assertRaises(AccessError):
            self.env['plant_bridge.api'].with_user(operator).reconcile('main', 'k', [])
        rec, _answer = self.reconcile([{'order': self.mo_desk.name, 'produced': 1}])
        # users see reconciliations; only managers accept (the connector does not even read them)
        self.assertEqual(rec.with_user(operator).line_ids.order, self.mo_desk.name)
        with self.assertRaises(AccessError):
            rec.line_ids.with_user(operator).action_accept()
        with self.assertRaises(AccessError):
            rec.with_user(self.connector_user).read(['state'])

    def test_corrections_are_in_the_unit_of_the_moves_they_correct(self):
        """Legacy totals are in the product's unit; a correction is proposed in the unit of the
        move it lands on (the order's unit, the component line's unit) and says so."""
        Product = self.env['product.product']
        kg, gram = self.env.ref('uom.product_uom_kgm'), self.env.ref('uom.product_uom_gram')
        dozen = self.env.ref('uom.product_uom_dozen')
        dozen.active = True
        resin = Product.create({'name': 'PB Resin R', 'default_code': 'PB_RESIN_R', 'is_storable': True,
                                'uom_id': kg.id})
        box = Product.create({'name': 'PB Box R', 'default_code': 'PB_BOX_R', 'is_storable': True})
        self.env['mrp.bom'].create({
            'product_tmpl_id': box.product_tmpl_id.id, 'product_qty': 1, 'product_uom_id': dozen.id,
            'bom_line_ids': [(0, 0, {'product_id': resin.id, 'product_qty': 400, 'product_uom_id': gram.id})]})
        mo = self.env['mrp.production'].create({'product_id': box.id, 'product_qty': 2,
                                                'product_uom_id': dozen.id})
        mo.action_confirm()
        self.assertEqual(mo.move_raw_ids.product_uom, gram)
        self.post_one('production', order=mo.name, quantity=1)                       # 1 dozen
        self.post_one('consumption', order=mo.name, product='PB_RESIN_R', quantity=300)  # 300 g
        rec, _answer = self.reconcile([
            {'order': mo.name, 'produced': 18},                               # units
            {'order': mo.name, 'product': 'PB_RESIN_R', 'consumed': 0.5},    # kg
        ])
        produced = rec.line_ids.filtered(lambda l: l.measure == 'produced')
        consumed = rec.line_ids.filtered(lambda l: l.measure == 'consumed')
        self.assertRecordValues(produced, [{'legacy_qty': 18.0, 'odoo_qty': 12.0, 'difference': 6.0}])
        self.assertRecordValues(consumed, [{'legacy_qty': 0.5, 'odoo_qty': 0.3, 'difference': 0.2}])
        self.assertEqual(json.loads(produced.correction),
                         {'type': 'production', 'order': mo.name, 'quantity': 0.5, 'uom': 'Dozens'})
        self.assertEqual(json.loads(consumed.correction),
                         {'type': 'consumption', 'order': mo.name, 'product': 'PB_RESIN_R',
                          'quantity': 200.0, 'uom': 'g'})
        rec.action_accept_all()
        self.assertRecordValues(rec.line_ids, [{'state': 'accepted'}, {'state': 'accepted'}])
        self.assertRecordValues(mo, [{'qty_producing': 1.5}])
        self.assertRecordValues(mo.move_raw_ids, [{'quantity': 500.0, 'picked': True}])

    def test_an_order_is_found_by_the_key_it_was_released_with(self):
        """The legacy side knows the order by its released name; Odoo renamed it -001 in a split."""
        mo = self.new_mo('product.product_product_3', qty=4)
        key = mo.name
        action = mo.action_split()
        wizard = self.env['mrp.production.split'].with_context(**action['context']).create({})
        wizard.max_batch_size = 2
        wizard.action_split()
        self.assertEqual(mo.name, f'{key}-001')
        self.assertApplied(self.post_one('production', order=key, quantity=1), 'mrp.production')
        rec, answer = self.reconcile([{'order': key, 'produced': 2}])
        self.assertEqual(answer['differences'], 1)
        self.assertRecordValues(rec.line_ids, [{'order': key, 'production_id': mo.id, 'legacy_qty': 2.0,
                                                'odoo_qty': 1.0, 'difference': 1.0, 'note': False}])
