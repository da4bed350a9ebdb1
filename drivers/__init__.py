"""Desk drivers, their codecs and emulators.

:mod:`deskctl.drivers.registry` maps desk URLs to drivers.
"""
