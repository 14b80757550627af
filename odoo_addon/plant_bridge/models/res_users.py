from odoo import fields, models


class ResUsers(models.Model):
    _inherit = 'res.users'

    plant_bridge_site_ids = fields.Many2many(
        'plant_bridge.site', 'plant_bridge_site_res_users_rel', 'user_id', 'site_id',
        string='Plant Bridge Sites',
        help="Sites this user (or connector account) may see and post to; managers see all sites.")
    plant_bridge_badge = fields.Char(
        string='Plant Badge', copy=False, index='btree_not_null',
        help="The badge this person clocks on with at the plant: `workorder_status` and `labor` "
             "events naming it (as `operator`) log their time under this user. Unique per company.")

    _plant_bridge_badge_unique = models.Constraint(
        'UNIQUE(plant_bridge_badge, company_id)',
        "A plant badge belongs to one user per company.",
    )

    def write(self, vals):
        # Plant Bridge managers keep the badge register (Configuration > Operators) without being
        # user administrators: the badge, and only it, is theirs to write.
        if set(vals) == {'plant_bridge_badge'} and not self.env.su \
                and self.env.user.has_group('plant_bridge.group_manager') \
                and self.filtered(lambda user: not user.share) == self:
            return super(ResUsers, self.sudo()).write(vals)
        return super().write(vals)
