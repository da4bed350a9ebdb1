"""deskctl: a smart standing-desk controller.

Heights are millimetres everywhere inside the package; centimetres and inches
appear only where people type or read them (see :mod:`deskctl.units`).
"""

__version__ = "0.1.0"
