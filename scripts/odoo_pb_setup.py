# Run inside `odoo-bin shell -d <db>` (env is given); PB_SCRIPT_ARGS="LOGIN [DAYS]".
#
# Creates (or reuses) the sidecar's service account in plant_bridge.group_connector, allowed
# on every site, gives it a new API key and prints it as PB_API_KEY=... (and PB_LOGIN=...).
import os
from datetime import timedelta

from odoo import Command, fields

args = os.environ.get('PB_SCRIPT_ARGS', '').split()
login = args[0] if args else 'plant_bridge_sidecar'
days = int(args[1]) if len(args) > 1 else 90

Users = env['res.users'].with_context(active_test=False)  # noqa: F821 - given by odoo-bin shell
user = Users.search([('login', '=', login)])
sites = env['plant_bridge.site'].search([])  # noqa: F821
if not user:
    user = Users.create({
        'name': 'Plant Bridge Sidecar', 'login': login,
        'group_ids': [Command.set(env.ref('plant_bridge.group_connector').ids)],  # noqa: F821
    })
user.write({'active': True, 'plant_bridge_site_ids': [Command.set(sites.ids)]})
# as superuser: the key may last up to the connector group's api_key_duration (90 days)
key = env['res.users.apikeys'].with_user(user).sudo()._generate(  # noqa: F821
    None, 'plant-bridge sidecar', fields.Datetime.now() + timedelta(days=days))
# no call home from a test database: partner_autocomplete enriches the company from odoo.com
# on the first web login unless told it is done
if 'iap_enrich_auto_done' in env['res.company']._fields:  # noqa: F821
    env['res.company'].search([]).write({'iap_enrich_auto_done': True})  # noqa: F821
# For end-to-end tests only: an API key of the admin user, to check Odoo's records as Odoo
# itself sees them (the connector account may not read them). Asked for with PB_ADMIN_KEY=1.
admin_key = None
if os.environ.get('PB_ADMIN_KEY') == '1':
    admin = env.ref('base.user_admin')  # noqa: F821
    admin_key = env['res.users.apikeys'].with_user(admin).sudo()._generate(  # noqa: F821
        None, 'plant-bridge e2e checks', fields.Datetime.now() + timedelta(days=1))
env.cr.commit()  # noqa: F821
print(f'PB_LOGIN={login}')
print(f'PB_API_KEY={key}')
if admin_key:
    print(f'PB_ADMIN_API_KEY={admin_key}')
