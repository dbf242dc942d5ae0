"""`gateway operators ...` against the test database (both backends)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.operators import accounts as operators
from gateway.cli import main
from gateway.operators.models import AuditEntry, Role

GATEWAY = Path(sys.executable).parent / "gateway"


@pytest.fixture
def run(database):
    url = database.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input,
                             env={"DATABASE_URL": url, "REDIS_URL": "", "SECRET_KEY": "test"})

    return invoke


def test_create_list_set_role_disable_enable(run, database):
    created = run("operators", "create", "Root", "--role", "admin", "--password-stdin",
                  input="a long admin password\n")
    assert created.exit_code == 0, created.output
    assert "created root (admin)" in created.output
    prompted = run("operators", "create", "eddie", "--role", "editor",
                   input="another long one\nanother long one\n")
    assert prompted.exit_code == 0, prompted.output
    assert "another long one" not in prompted.output  # the prompt hides what is typed
    listing = run("operators", "list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split()[:3] == ["eddie", "editor", "active"]
    assert lines[1].split()[:3] == ["root", "admin", "active"]
    assert run("operators", "set-role", "eddie", "viewer").exit_code == 0
    assert run("operators", "disable", "eddie").exit_code == 0
    with database.session() as s:
        row = operators.get(s, "eddie")
        assert (row.role, row.active) == (Role.VIEWER, False)
        assert operators.authenticate(s, "root", "a long admin password").ok
    assert "disabled" in run("operators", "list").output
    assert run("operators", "enable", "eddie").exit_code == 0
    assert run("operators", "set-password", "eddie", "--password-stdin", input="a brand new password\n").exit_code == 0
    with database.session() as s:
        assert operators.authenticate(s, "eddie", "a brand new password").ok
        audit = [(e.action, e.username, e.target) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert [a for a in audit if a[0].startswith("operator_")] == [("operator_create", "cli", "root"), ("operator_create", "cli", "eddie"),
                         ("operator_role", "cli", "eddie"), ("operator_disable", "cli", "eddie"),
                         ("operator_enable", "cli", "eddie"), ("operator_password", "cli", "eddie")]


def test_refusals_are_one_clear_line(run):
    short = run("operators", "create", "ada", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    differ = run("operators", "create", "ada", input="a long password 1\na long password 2\n"
                                                     "a long password 1\na long password 1\n")
    assert differ.exit_code == 0 and "do not match" in differ.output.lower()
    again = run("operators", "create", "ada", "--password-stdin", input="a long password 1\n")
    assert again.exit_code == 1 and "already exists" in again.output
    bad_name = run("operators", "create", "<script>", "--password-stdin", input="a long password 1\n")
    assert bad_name.exit_code == 1 and "username" in bad_name.output
    assert run("operators", "set-role", "nobody", "admin").exit_code == 1
    assert run("operators", "set-role", "ada", "boss").exit_code == 2  # not a role
    # The last active admin stays an admin.
    assert run("operators", "set-role", "ada", "admin").exit_code == 0
    last = run("operators", "disable", "ada")
    assert last.exit_code == 1 and "last active admin" in last.output
    assert run("operators", "set-role", "ada", "viewer").exit_code == 1


def test_the_installed_script_creates_the_first_admin(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'isoko.db'}"
    done = subprocess.run([str(GATEWAY), "operators", "create", "admin", "--role", "admin", "--password-stdin"],
                          input="a long admin password\n", env=env, cwd=tmp_path, capture_output=True,
                          encoding="utf-8", timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([str(GATEWAY), "operators", "list"], env=env, cwd=tmp_path, capture_output=True,
                            encoding="utf-8", timeout=120, check=False)
    assert listed.stdout.split()[:3] == ["admin", "admin", "active"]
