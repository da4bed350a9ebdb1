"""Run every benchmark and print one markdown table.

    .venv/bin/python bench/run.py        # after scripts/setup --test

Figures are ratios against a reference measured in the same run, because the
machines these run on are shared and noisy.  Peers (the published Linak
clients) live in virtual environments of their own under ``.venv-peers/``, made by
``scripts/setup --test``.
"""

from __future__ import annotations

import sys

import agent
import bridge
import interface
import linak
import moves
import policy
import presence
import serial_desks


def main() -> int:
    rows: list[tuple[str, str, str, str]] = []
    rows += moves.run()
    rows += linak.run()
    rows += serial_desks.run()
    rows += policy.run()
    rows += presence.run()
    rows += interface.run()
    rows += agent.run()
    rows += bridge.run()
    print("| benchmark | measured | target | met |")
    print("|---|---|---|---|")
    for name, measured, target, met in rows:
        print(f"| {name} | {measured} | {target} | {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
