from odoo import fields, models

RECORD_KINDS = [
    ('certificate_of_conformity', 'Certificate of Conformity'),
    ('test_report', 'Test Report'),
    ('batch_record', 'Batch Record'),
    ('measurements', 'Measurements'),
    ('other', 'Other'),
]


class PlantBridgeRecord(models.Model):
    """A compliance record from the plant: a certificate of conformity, a test report, a batch
    record or a measurement set, for a lot, a manufacturing order or a delivery, and the customer
    it is for.

    The document is kept where the plant keeps it (`uri`) or, when small, here (`content`, an
    attachment); either way with its SHA-256, so an auditor can prove the file they are shown is
    the one that was recorded. Records are evidence: nobody edits them in Odoo (read-only for
    Plant Bridge users and managers); a correction is a new record.
    """
    _name = 'plant_bridge.record'
    _description = 'Plant Bridge Compliance Record'
    _order = 'occurred_at desc, id desc'
    _check_company_auto = True
    _rec_names_search = ['name', 'lot_id', 'production_id', 'picking_id']

    name = fields.Char('Title', required=True, readonly=True)
    kind = fields.Selection(RECORD_KINDS, required=True, readonly=True, index=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, readonly=True, index=True)
    company_id = fields.Many2one(related='site_id.company_id', store=True)
    occurred_at = fields.Datetime('Recorded At', readonly=True)
    lot_id = fields.Many2one('stock.lot', 'Lot/Serial', readonly=True, index='btree_not_null', check_company=True)
    product_id = fields.Many2one('product.product', readonly=True, check_company=True)
    production_id = fields.Many2one('mrp.production', 'Manufacturing Order', readonly=True,
                                    index='btree_not_null', check_company=True)
    picking_id = fields.Many2one('stock.picking', 'Delivery', readonly=True, index='btree_not_null',
                                 check_company=True)
    partner_id = fields.Many2one('res.partner', 'Customer', readonly=True, index='btree_not_null',
                                 help="Who the record is for (named by the plant, else the delivery's customer).")
    sha256 = fields.Char('SHA-256', required=True, readonly=True,
                         help="SHA-256 of the document: of the file at the URI, or of the content kept here.")
    uri = fields.Char('Document URI', readonly=True, help="Where the plant keeps the document.")
    content = fields.Binary(attachment=True, readonly=True, help="The document itself, when small.")
    content_name = fields.Char(readonly=True)
    media_type = fields.Char(readonly=True)
    size = fields.Integer('Size (bytes)', readonly=True)
    shipped_partner_ids = fields.Many2many(
        'res.partner', string='Shipped To', compute='_compute_shipped_partner_ids',
        search='_search_shipped_partner_ids',
        help="Customers the record's lot was delivered to (done deliveries), or its delivery's customer.")

    _sha256_hex = models.Constraint(
        "CHECK (sha256 ~ '^[0-9a-f]{64}$')", "A SHA-256 is 64 lowercase hexadecimal digits.")

    def _compute_shipped_partner_ids(self):
        for record in self:
            # the lot's customers as Odoo's lot form shows them (deliveries of it, or of what it went into)
            partners = record.lot_id.sudo().partner_ids | record.picking_id.sudo().partner_id
            record.shipped_partner_ids = partners.commercial_partner_id

    def _search_shipped_partner_ids(self, operator, value):
        """Records for what went to these customers (or any of their contacts): on a lot Odoo
        counts as delivered to them (the lots' Customers search), or on a delivery to them."""
        if operator not in ('in', 'any'):
            return NotImplemented
        Partner = self.env['res.partner'].sudo()
        partners = Partner.browse(value) if operator == 'in' else Partner.search(value)
        customers = Partner.with_context(active_test=False).search(
            [('commercial_partner_id', 'in', partners.commercial_partner_id.ids)])
        lots = self.env['stock.lot'].sudo().search([('partner_ids', 'in', customers.ids)])
        return ['|', ('lot_id', 'in', lots.ids), ('picking_id.partner_id', 'in', customers.ids)]
