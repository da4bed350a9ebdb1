"""``deskctl agent``: the one owner of each desk for a user.

It holds each desk's connection, runs its schedule, writes its history and keeps its
fault latch; the command line, the interface and the MQTT bridge reach the desks through
it over a local socket (``protocol``), any number of them at once.
"""
