"""``deskctl serve``: the desks of one room on an MQTT broker, for Home Assistant and fleets."""
