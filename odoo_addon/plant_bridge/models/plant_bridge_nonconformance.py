from odoo import fields, models

DISPOSITIONS = [
    ('scrap', 'Scrap'),
    ('rework', 'Rework'),
    ('use_as_is', 'Use As Is'),
    ('return', 'Return to Supplier'),
]


class PlantBridgeNonconformance(models.Model):
    """A nonconformance the plant found on a lot, an order or one of its operations, and what
    was done with the goods: each disposition is the operation a person does in Odoo (a
    validated scrap; an unbuild or a rework order; a concession releasing the hold, approved by a
    named manager; a return of the receipt that brought the lot). Linked to the quality result
    that found it and so to its hold."""
    _name = 'plant_bridge.nonconformance'
    _description = 'Plant Bridge Nonconformance'
    _inherit = ['mail.thread']
    _order = 'id desc'
    _check_company_auto = True

    name = fields.Char('Defect', required=True, readonly=True)
    description = fields.Text(readonly=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, readonly=True, index=True)
    company_id = fields.Many2one(related='site_id.company_id', store=True)
    occurred_at = fields.Datetime('Found At', readonly=True)
    production_id = fields.Many2one('mrp.production', 'Manufacturing Order', readonly=True,
                                    index='btree_not_null', check_company=True)
    workorder_id = fields.Many2one('mrp.workorder', 'Operation', readonly=True, check_company=True)
    product_id = fields.Many2one('product.product', required=True, readonly=True, check_company=True)
    lot_id = fields.Many2one('stock.lot', 'Lot/Serial', readonly=True, index='btree_not_null', check_company=True)
    quantity = fields.Float(digits='Product Unit', readonly=True)
    uom_id = fields.Many2one('uom.uom', 'Unit', readonly=True)
    disposition = fields.Selection(DISPOSITIONS, required=True, readonly=True, tracking=True)
    approved_by_id = fields.Many2one('res.users', 'Approved By', readonly=True)
    quality_result_id = fields.Many2one('plant_bridge.quality.result', 'Quality Result', readonly=True,
                                        index='btree_not_null', check_company=True)
    hold_state = fields.Selection(related='quality_result_id.hold_state', string='Hold')
    scrap_id = fields.Many2one('stock.scrap', readonly=True, check_company=True)
    unbuild_id = fields.Many2one('mrp.unbuild', readonly=True, check_company=True)
    rework_production_id = fields.Many2one('mrp.production', 'Rework Order', readonly=True, check_company=True)
    return_picking_id = fields.Many2one('stock.picking', 'Return', readonly=True, check_company=True)

    def _disposition_record(self):
        """The Odoo document the disposition made (none for use as is)."""
        self.ensure_one()
        return self.scrap_id or self.unbuild_id or self.rework_production_id or self.return_picking_id

    def action_open_disposition(self):
        self.ensure_one()
        record = self._disposition_record()
        return {'type': 'ir.actions.act_window', 'res_model': record._name, 'res_id': record.id,
                'view_mode': 'form'}
