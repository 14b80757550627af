from odoo import _, api, fields, models
from odoo.exceptions import UserError


class PlantBridgeQualityResult(models.Model):
    """A quality test result from the plant (Community has no quality app).

    A failing result with `hold` blocks completion of its MO and, until a manager releases it,
    what would make the hold meaningless for its lot (the lot named, or the lots the held order
    produced): reserving or consuming it in other orders, and delivering it. Returns to the
    vendor and scrap are not blocked. Each refused attempt is a `plant_bridge.hold.block`.
    """
    _name = 'plant_bridge.quality.result'
    _description = 'Plant Bridge Quality Result'
    _inherit = ['mail.thread']
    _order = 'id desc'
    _check_company_auto = True

    name = fields.Char('Test', required=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, index=True)
    company_id = fields.Many2one(related='site_id.company_id', store=True)
    result = fields.Selection([('pass', 'Pass'), ('fail', 'Fail')], required=True)
    value = fields.Char()
    occurred_at = fields.Datetime()
    production_id = fields.Many2one('mrp.production', index='btree_not_null', check_company=True)
    lot_id = fields.Many2one('stock.lot', index='btree_not_null', check_company=True)
    product_id = fields.Many2one('product.product', check_company=True)
    hold = fields.Boolean(help="A failing result that holds the order and the lot.")
    hold_state = fields.Selection([('none', 'No Hold'), ('held', 'Held'), ('released', 'Released')],
                                  default='none', required=True, tracking=True, index=True)
    released_by_id = fields.Many2one('res.users', readonly=True)
    released_date = fields.Datetime(readonly=True)
    block_ids = fields.One2many('plant_bridge.hold.block', 'result_id', 'Blocked Attempts', readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        results = super().create(vals_list)
        self.env['plant_bridge.audit']._log('hold.place', results.filtered(lambda r: r.hold_state == 'held'),
                                            lambda r: {'test': r.name, 'value': r.value, 'order': r.production_id.name,
                                                       'lot': r.lot_id.name, 'site': r.site_id.code})
        return results

    @api.model
    def _held_domain(self, productions=None, lots=None):
        domain = [('hold_state', '=', 'held')]
        parts = []
        if productions:
            parts.append([('production_id', 'in', productions.ids)])
        if lots:
            parts.append([('lot_id', 'in', lots.ids)])
        if len(parts) == 2:
            return domain + ['|'] + parts[0] + parts[1]
        return domain + (parts[0] if parts else [])

    @api.model
    def _holds_on_lots(self, lots, production=None):
        """Held results holding one of `lots`: by naming it, or by holding the order that
        produced it. With `production`, the holds recorded on that order itself are left out (a
        hold keeps a lot out of *other* orders)."""
        if production:
            # a rework order made for nonconforming goods takes them, held or not
            lots -= production._plant_bridge_rework_lots()
        if not lots:
            return self.browse()
        results = self.sudo().search([('hold_state', '=', 'held'), '|', ('lot_id', 'in', lots.ids),
                                      ('production_id.lot_producing_ids', 'in', lots.ids)])
        return results.filtered(lambda r: r._held_lots() & lots
                                and not (production and r.production_id == production))

    def _held_lots(self):
        """The lots these holds hold: the lot named, else the lots the held order produced."""
        return self.lot_id | self.filtered(lambda r: not r.lot_id).production_id.lot_producing_ids

    def action_release_hold(self):
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise UserError(_("Only Plant Bridge managers can release a quality hold."))
        for result in self.filtered(lambda r: r.hold_state == 'held'):
            result.sudo().write({
                'hold_state': 'released',
                'released_by_id': self.env.uid,
                'released_date': fields.Datetime.now(),
            })
            result.message_post(body=_("Hold released by %s.", self.env.user.name))
            self.env['plant_bridge.audit']._log('hold.release', result, {'test': result.name, 'site': result.site_id.code})
            result._post_held_finishes()
        return True

    def _post_held_finishes(self):
        """Finishes deferred under this hold (`quality_hold`) are posted again: with no other
        hold left on their order, they complete it as the plant reported. Their orders: the held
        one, those producing the held lot, and those consuming it."""
        self.ensure_one()
        Production = self.env['mrp.production'].sudo()
        productions = self.production_id.sudo()
        if self.lot_id:
            productions |= Production.search([('lot_producing_ids', 'in', self.lot_id.ids)])
        if lots := self.sudo()._held_lots():
            productions |= Production.search([('move_raw_ids.move_line_ids.lot_id', 'in', lots.ids),
                                              ('state', 'not in', ('done', 'cancel'))])
        self.env['plant_bridge.message'].sudo().search([
            ('production_id', 'in', productions.ids), ('state', '=', 'deferred'),
            ('error_code', '=', 'quality_hold')], order='id')._post_again()
