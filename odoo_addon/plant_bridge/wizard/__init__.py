from . import plant_bridge_message_discard
