from odoo import fields, models


class ResUsers(models.Model):
    _inherit = 'res.users'

    plant_bridge_site_ids = fields.Many2many(
        'plant_bridge.site', 'plant_bridge_site_res_users_rel', 'user_id', 'site_id',
        string='Plant Bridge Sites',
        help="Sites this user (or connector account) may see and post to; managers see all sites.")
