from . import plant_bridge_message_discard
from . import plant_bridge_api_token_create
from . import plant_bridge_sidecar_connect
from . import plant_bridge_site_onboard
