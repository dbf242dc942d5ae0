"""The `gateway` command (see interfaces.md): one click group, one module per
command group. `gateway --help` lists Isoko's commands only; `gateway --version`
prints the installed version (one version, in pyproject.toml)."""
from __future__ import annotations

import sys
from importlib.metadata import version

import click

from gateway.cli import apikeys, catalogue, db, dial, menus, operators, serve, sms


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("isoko"), "--version", prog_name="Isoko", message="%(prog)s %(version)s")
def main() -> None:
    """Isoko: the USSD and SMS marketplace gateway."""


for command in (serve.serve, serve.worker, dial.dial, menus.menus, db.db, apikeys.group,
                operators.group, sms.sms, catalogue.group):
    main.add_command(command)

if __name__ == "__main__":
    sys.exit(main())
