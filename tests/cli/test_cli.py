"""End-to-end tests of the `gateway` console script (interfaces.md, "Command line").

Every test runs the installed script in a subprocess, in its own working
directory, with an environment it controls: no Isoko variable leaks in from
the developer's shell.
"""
from __future__ import annotations

import os
import tomllib
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import yaml

from tests.conftest import pg_url_for_schema, reset_pg_schema

GATEWAY = Path(sys.executable).parent / "gateway"
REPO = Path(__file__).resolve().parents[2]
SHIPPED_MENU = REPO / "menus" / "definitions" / "marketplace.yaml"
PHONE = "+250788000001"
SCREEN_BUDGET = 160
TIMEOUT = 60  # seconds for one command; a dial takes a few seconds

# Every variable Settings.from_env reads: tests start from none of them.
ISOKO_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "USSD_SERVICE_CODE", "CALLBACK_TOKEN",
    "AT_USERNAME", "AT_API_KEY", "AT_SENDER_ID", "AT_API_URL",
    "USSD_SESSION_TTL", "USSD_RESUME_TTL", "USSD_SCREEN_LIMIT", "LOG_LEVEL",
)
ORIGINAL_NAME_PROMPT = "Welcome to Isoko, the producers' market."
CHANGED_NAME_PROMPT = "Hello from version two of the menu."


def make_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ISOKO_VARIABLES}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(variables)
    return env


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def gateway(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    assert GATEWAY.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run(
        [str(GATEWAY), *args], env=env, cwd=cwd, capture_output=True,
        encoding="utf-8", timeout=TIMEOUT, check=False,
    )


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def assert_clean_failure(result: subprocess.CompletedProcess) -> str:
    """Non-zero exit, a message, no Python traceback. Returns the output."""
    text = output(result)
    assert result.returncode != 0, text
    assert "Traceback" not in text, text
    assert text.strip(), "a failing command must say why"
    return text


# --- parsing `gateway dial` output -------------------------------------------

@dataclass
class Screen:
    sent: str | None  # the input that led to this screen (None for the first)
    kind: str  # CON or END
    chars: int  # the count dial printed
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def options(self) -> dict[str, str]:
        """Numbered choices on the screen: {"1": "Bugesera", "98": "More", ...}."""
        found = {}
        for line in self.lines:
            match = re.fullmatch(r"(\d+)\. (.+)", line)
            if match:
                found[match.group(1)] = match.group(2)
        return found

    def choice(self, label: str) -> str:
        numbers = [number for number, text in self.options().items() if text == label]
        assert len(numbers) == 1, f"{label!r} not offered once on:\n{self.text}"
        return numbers[0]


_HEADER = re.compile(r"\+--- (CON|END) \((\d+) chars\) ---")


def parse_dial(stdout: str) -> list[Screen]:
    """The screens `gateway dial` printed. Checks the frame and that every
    screen's stated size is its real size and within the 160-char budget."""
    screens: list[Screen] = []
    sent: str | None = None
    current: Screen | None = None
    for line in stdout.splitlines():
        if current is not None:
            if line == "+" + "-" * 28:
                screens.append(current)
                current = None
            else:
                assert line.startswith("| "), f"unexpected line inside a screen: {line!r}"
                current.lines.append(line[2:])
            continue
        if line.startswith("> "):
            sent = line[2:]
        elif (match := _HEADER.fullmatch(line)) is not None:
            current = Screen(sent, match.group(1), int(match.group(2)))
            sent = None
        else:
            pytest.fail(f"unexpected line from dial: {line!r}\n{stdout}")
    assert current is None, f"unterminated screen:\n{stdout}"
    assert screens, f"dial printed no screen:\n{stdout}"
    for screen in screens:
        assert screen.chars == len(screen.text), screen
        assert screen.chars <= SCREEN_BUDGET, f"{screen.chars} chars:\n{screen.text}"
    return screens


def dial(env: dict[str, str], cwd: Path, *inputs: str, phone: str = PHONE) -> list[Screen]:
    args = ["dial", "--phone", phone]
    for answer in inputs:
        args += ["--input", answer]
    result = gateway(*args, env=env, cwd=cwd)
    assert result.returncode == 0, output(result)
    screens = parse_dial(result.stdout)
    assert [s.sent for s in screens] == [None, *inputs], result.stdout
    return screens


# --- 1. menus lint -------------------------------------------------------------

def shipped_definition() -> dict:
    return yaml.safe_load(SHIPPED_MENU.read_text(encoding="utf-8"))


def write_definition(path: Path, definition: dict) -> Path:
    path.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    return path


def french_words(length: int) -> str:
    text = ("marche " * length)[: length - 1] + "."
    assert len(text) == length and " " in text
    return text


def test_lint_accepts_the_shipped_menu(tmp_path):
    result = gateway("menus", "lint", str(SHIPPED_MENU), env=make_env(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert result.stdout.strip() == f"{SHIPPED_MENU}: ok"


def test_lint_accepts_the_shipped_menu_dumped_back(tmp_path):
    # The broken copies below are made this way: their errors must be their edits.
    write_definition(tmp_path / "copy.yaml", shipped_definition())
    result = gateway("menus", "lint", "copy.yaml", env=make_env(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert result.stdout.strip() == "copy.yaml: ok"


def _dangling_next(d: dict) -> None:
    d["screens"]["sell_price"]["next"] = "nowhere"


def _long_french(d: dict) -> None:
    d["screens"]["ask_name"]["text"]["fr"] = french_words(200)


def _non_gsm(d: dict) -> None:
    d["screens"]["bye"]["text"]["fr"] = "Merci, garçon"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_dangling_next, ["screen sell_price", "nowhere"]),
        (_long_french, ["screen ask_name, language fr", "over the limit of 160"]),
        (_non_gsm, ["screen bye, language fr", "ç"]),
    ],
    ids=["dangling-next", "long-french", "non-gsm"],
)
def test_lint_rejects_a_broken_copy_naming_the_screen(tmp_path, edit, expected):
    definition = shipped_definition()
    edit(definition)
    write_definition(tmp_path / "broken.yaml", definition)
    result = gateway("menus", "lint", "broken.yaml", env=make_env(), cwd=tmp_path)
    text = output(result)
    assert result.returncode != 0, text
    error_lines = [line for line in text.splitlines() if line.startswith("broken.yaml: error:")]
    assert any(all(part in line for part in expected) for line in error_lines), text
    assert "broken.yaml: ok" not in text
    assert "Traceback" not in text


def test_lint_fails_if_any_of_several_files_fails(tmp_path):
    definition = shipped_definition()
    _non_gsm(definition)
    write_definition(tmp_path / "broken.yaml", definition)
    result = gateway("menus", "lint", str(SHIPPED_MENU), "broken.yaml", env=make_env(), cwd=tmp_path)
    assert result.returncode != 0, output(result)
    assert f"{SHIPPED_MENU}: ok" in result.stdout
    assert "broken.yaml: error: screen bye" in result.stdout


def test_lint_reports_a_file_that_is_not_yaml(tmp_path):
    (tmp_path / "notyaml.yaml").write_text("name: [marketplace\nscreens: {\n", encoding="utf-8")
    result = gateway("menus", "lint", "notyaml.yaml", env=make_env(), cwd=tmp_path)
    text = assert_clean_failure(result)
    assert "notyaml.yaml" in text and "not valid YAML" in text


def test_lint_reports_a_missing_file(tmp_path):
    result = gateway("menus", "lint", "missing.yaml", env=make_env(), cwd=tmp_path)
    text = assert_clean_failure(result)
    assert "missing.yaml" in text and "No such file" in text


def test_lint_names_an_overlong_more_at_once(tmp_path):
    # A French "more" of 225 characters used to make the linter loop for ever.
    definition = shipped_definition()
    definition["strings"]["more"]["fr"] = french_words(225)
    write_definition(tmp_path / "long_more.yaml", definition)
    started = time.monotonic()
    gateway("menus", "lint", str(SHIPPED_MENU), env=make_env(), cwd=tmp_path)
    baseline = time.monotonic() - started  # starting the command, linting a good menu
    started = time.monotonic()
    result = subprocess.run([str(GATEWAY), "menus", "lint", "long_more.yaml"], env=make_env(),
                            cwd=tmp_path, capture_output=True, encoding="utf-8", timeout=10)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, output(result)
    assert elapsed < baseline + 1.0, (elapsed, baseline)
    assert "long_more.yaml: error: menu, language fr: string more: navigation label too long: " \
           "'98. marche marche marche marche march...' is 229 characters" in result.stdout, output(result)
    assert "Traceback" not in output(result)


# (typed into the shipped file, what --fix must leave): French as an editor types it.
FIX_EDITS = [
    ('fr: "Session termin\u00e9e. Recomposez."', 'fr: "Session termin\u00e9e \u2013 recompos\u00eaz\u2026"',
     'fr: "Session termin\u00e9e - recomposez..."'),
    ('fr: "Reprendre o\u00f9 vous \u00e9tiez?"', 'fr: "Reprendre o\u00f9 vous \u00e9tiez\u00a0?"',
     'fr: "Reprendre o\u00f9 vous \u00e9tiez ?"'),
    # A comment is not shown on any phone: --fix leaves it as typed.
    ("Kinyarwanda texts need", "Kinyarwanda texts\u2019 need", "Kinyarwanda texts\u2019 need"),
]


def _typed_copy(tmp_path: Path, newline: str = "\n", extra: str = "") -> tuple[Path, str]:
    source = SHIPPED_MENU.read_text(encoding="utf-8")
    typed = expected = source
    for original, typed_text, fixed_text in FIX_EDITS:
        assert source.count(original) == 1, original
        typed = typed.replace(original, typed_text)
        expected = expected.replace(original, fixed_text)
    typed += extra
    path = tmp_path / "typed.yaml"
    path.write_bytes(typed.replace("\n", newline).encode("utf-8"))
    return path, expected.replace("\n", newline)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_lint_fix_writes_the_replacements_and_keeps_the_layout(tmp_path, newline):
    path, expected = _typed_copy(tmp_path, newline)
    before = gateway("menus", "lint", "typed.yaml", env=make_env(), cwd=tmp_path)
    assert before.returncode == 1 and "replace it with '-'" in before.stdout, output(before)
    result = gateway("menus", "lint", "--fix", "typed.yaml", env=make_env(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert result.stdout.splitlines() == [
        "typed.yaml: fixed 4 character(s): '\u2013' -> '-', '\u00ea' -> 'e', "
        "'\u2026' -> '...', '\\xa0' -> ' '",
        "typed.yaml: ok"]
    # Only the characters changed: comments, quoting, order and line endings as they were.
    assert path.read_bytes().decode("utf-8") == expected
    again = gateway("menus", "lint", "--fix", "typed.yaml", env=make_env(), cwd=tmp_path)
    assert again.stdout.strip() == "typed.yaml: ok" and path.read_bytes().decode("utf-8") == expected


def test_lint_fix_reports_what_has_no_replacement(tmp_path):
    path, expected = _typed_copy(tmp_path)
    source = path.read_text(encoding="utf-8").replace(
        'fr: "Bienvenue sur Isoko', 'fr: "\U0001F33D Bienvenue sur Isoko')
    path.write_text(source, encoding="utf-8")
    result = gateway("menus", "lint", "--fix", "typed.yaml", env=make_env(), cwd=tmp_path)
    assert result.returncode == 1, output(result)
    assert "typed.yaml: fixed 4 character(s)" in result.stdout
    assert ("typed.yaml: error: screen ask_name, language fr: text: character outside GSM-7: "
            "'\U0001F33D' (U+1F33D EAR OF MAIZE); no GSM-7 replacement: reword") in result.stdout
    assert path.read_text(encoding="utf-8") == expected.replace(
        'fr: "Bienvenue sur Isoko', 'fr: "\U0001F33D Bienvenue sur Isoko')


# --- 2. dial in process: register, then sell ---------------------------------

def test_dial_registers_then_sells_and_queues_the_receipt(tmp_path):
    db_path = tmp_path / "dial.db"
    env = make_env(DATABASE_URL=sqlite_url(db_path))

    # Read the district pages first (this session stops before consent).
    name = "Alice Uwase"
    probe = dial(env, tmp_path, "2", name, "98")
    languages, ask_name, page1, page2 = probe
    assert languages.choice("English") == "2"
    assert ask_name.lines[:2] == [ORIGINAL_NAME_PROMPT, "What is your name?"]
    for page in (page1, page2):
        numbered = [n for n in page.options() if n not in ("98", "0")]
        assert numbered == [str(i) for i in range(1, 8)], page.text  # 7 per page
        assert page.options()["98"] == "More"
    assert page1.lines[0] == "Choose your district:"
    district = page2.options()["3"]
    assert district not in page1.options().values()

    # Registration in one invocation, with a district from the second page.
    screens = dial(env, tmp_path, "2", name, "98", "3", "1")
    consent, main = screens[-2], screens[-1]
    assert "Do you agree?" in consent.text and consent.choice("Yes") == "1"
    assert main.kind == "CON" and main.lines[0] == f"Isoko: Hello {name}"
    assert main.choice("Sell goods") == "1"

    # Read the product list instead of assuming ids.
    products = dial(env, tmp_path, "1")[-1]
    assert products.lines[0] == "What are you selling?"
    parchment = products.choice("Parchment coffee")

    screens = dial(env, tmp_path, "1", parchment, "1", "50kg", "3000", "1")
    grades, quantity, price, confirm, done = screens[-5:]
    assert [grades.options()[n] for n in "123"] == ["Grade A", "Grade B", "Grade C"]
    assert "Parchment coffee: quantity (kg)?" in quantity.text
    assert "Price per kg in RWF?" in price.text
    assert "Parchment coffee Grade A" in confirm.text
    assert "50 kg x 3,000 RWF" in confirm.text and "Total: 150,000 RWF" in confirm.text
    assert done.kind == "END"
    match = re.search(r"Listed! Code: (\d{6})\b", done.text)
    assert match, done.text
    code = match.group(1)

    with closing(sqlite3.connect(db_path)) as connection:
        producer = connection.execute(
            "SELECT p.name, p.language, d.name FROM producers p"
            " JOIN districts d ON d.id = p.district_id WHERE p.phone = ?", (PHONE,)
        ).fetchall()
        assert producer == [(name, "en", district)]
        listings = connection.execute(
            "SELECT l.code, pr.code, l.grade, l.quantity, l.unit_price, l.status, p.phone"
            " FROM listings l JOIN products pr ON pr.id = l.product_id"
            " JOIN producers p ON p.id = l.producer_id"
        ).fetchall()
        assert listings == [(code, "parchment_coffee", "A", 50, 3000, "active", PHONE)]
        messages = connection.execute(
            "SELECT text, status FROM messages WHERE recipient = ?", (PHONE,)
        ).fetchall()
    assert len(messages) == 1, messages
    receipt, status = messages[0]
    assert status == "queued"
    assert code in receipt


# --- 3. db upgrade on PostgreSQL -----------------------------------------------

EXPECTED_TABLES = {
    "alembic_version", "districts", "products", "producers", "listings",
    "messages", "menu_versions", "menu_heads",
}


@pytest.fixture
def cli_pg_schema():
    schema = f"isoko_cli_test_{os.getpid()}"
    reset_pg_schema(schema)
    yield schema
    reset_pg_schema(schema, create=False)


def test_db_upgrade_on_postgresql_is_idempotent(tmp_path, cli_pg_schema):
    url = pg_url_for_schema(cli_pg_schema)
    env = make_env(DATABASE_URL=url)
    revisions = []
    for _ in range(2):
        result = gateway("db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 0, output(result)
        match = re.search(r"database at revision (\S+)", result.stdout)
        assert match, output(result)
        revisions.append(match.group(1))
    assert revisions[0] == revisions[1]

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names(schema=cli_pg_schema))
            stored = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert EXPECTED_TABLES <= tables, tables
    assert stored == [(revisions[0],)]
    assert not (tmp_path / "isoko.db").exists()  # PostgreSQL was used, not the default


# --- 4. menus publish / list / rollback -----------------------------------------

def list_rows(env: dict[str, str], cwd: Path) -> list[tuple[bool, str, int]]:
    """`gateway menus list` as (starred, name, version) rows."""
    result = gateway("menus", "list", env=env, cwd=cwd)
    assert result.returncode == 0, output(result)
    rows = []
    for line in result.stdout.splitlines():
        match = re.match(r"([* ]) (\S+)\s+(\d+)\s", line)
        assert match, f"unexpected list line: {line!r}"
        rows.append((match.group(1) == "*", match.group(2), int(match.group(3))))
    return rows


def name_prompt(env: dict[str, str], cwd: Path, phone: str) -> str:
    """The prompt a new user sees after choosing English."""
    screens = dial(env, cwd, "2", phone=phone)
    assert screens[0].choice("English") == "2"
    return screens[1].text


def test_menus_publish_list_rollback(tmp_path, redis_client, redis_url):
    env = make_env(DATABASE_URL=sqlite_url(tmp_path / "menus.db"), REDIS_URL=redis_url)
    head_key = "isoko:menu:head:marketplace"

    # First use publishes the shipped menu as version 1.
    assert name_prompt(env, tmp_path, "+250788000011").startswith(ORIGINAL_NAME_PROMPT)
    assert list_rows(env, tmp_path) == [(True, "marketplace", 1)]

    changed = shipped_definition()
    changed["screens"]["ask_name"]["text"]["en"] = CHANGED_NAME_PROMPT + "\nWhat is your name?"
    write_definition(tmp_path / "v2.yaml", changed)
    result = gateway("menus", "publish", "v2.yaml", "--note", "new welcome", env=env, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert "published marketplace version 2" in result.stdout
    assert redis_client.get(head_key) == b"2"  # live sessions' head moved at once
    listed = list_rows(env, tmp_path)
    assert listed == [(False, "marketplace", 1), (True, "marketplace", 2)]

    prompt = name_prompt(env, tmp_path, "+250788000012")
    assert prompt.startswith(CHANGED_NAME_PROMPT) and ORIGINAL_NAME_PROMPT not in prompt

    # An invalid definition is refused and stores nothing.
    broken = shipped_definition()
    _non_gsm(broken)
    write_definition(tmp_path / "broken.yaml", broken)
    result = gateway("menus", "publish", "broken.yaml", env=env, cwd=tmp_path)
    text = assert_clean_failure(result)
    assert "screen bye" in text
    assert list_rows(env, tmp_path) == listed
    assert redis_client.get(head_key) == b"2"

    result = gateway("menus", "rollback", "marketplace", "1", env=env, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert "marketplace now serves version 1" in result.stdout
    assert redis_client.get(head_key) == b"1"
    assert list_rows(env, tmp_path) == [(True, "marketplace", 1), (False, "marketplace", 2)]
    assert name_prompt(env, tmp_path, "+250788000013").startswith(ORIGINAL_NAME_PROMPT)

    # A version that does not exist: refused, head unchanged.
    result = gateway("menus", "rollback", "marketplace", "7", env=env, cwd=tmp_path)
    text = assert_clean_failure(result)
    assert "marketplace" in text and "no version 7" in text
    assert list_rows(env, tmp_path) == [(True, "marketplace", 1), (False, "marketplace", 2)]


# --- 5. serve ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sigint_default() -> None:
    # A shell that starts the tests in the background ignores SIGINT, and
    # the child would inherit that: give the server Python's usual Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_healthy(base: str, process: subprocess.Popen, deadline: float) -> requests.Response:
    while True:
        assert process.poll() is None, f"gateway serve exited with {process.returncode}"
        try:
            response = requests.get(f"{base}/healthz", timeout=1)
            if response.status_code == 200:
                return response
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "gateway serve did not become healthy in 20 s"
        time.sleep(0.1)


def at_hop(base: str, text: str) -> requests.Response:
    # Exactly what the provider (or `curl -d`) sends.
    body = ("sessionId=s1&serviceCode=*384*7%23&phoneNumber=%2B250788000001"
            f"&networkCode=63510&text={text}")
    return requests.post(f"{base}/at/ussd", data=body, timeout=5,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_serve_answers_the_provider_with_embedded_defaults(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stdout_path, stderr_path = tmp_path / "serve.out", tmp_path / "serve.err"
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [str(GATEWAY), "serve", "--port", str(port)], env=make_env(), cwd=tmp_path,
            stdout=stdout, stderr=stderr, preexec_fn=_sigint_default,
        )
    try:
        health = wait_healthy(base, process, time.monotonic() + 20)
        assert health.json() == {"database": True, "redis": True, "menu": True}

        first = at_hop(base, "")
        assert first.status_code == 200
        assert first.headers["Content-Type"].startswith("text/plain")
        assert first.text.startswith("CON ")
        for label in ("1. Kinyarwanda", "2. English", "3. Francais"):
            assert label in first.text.split("\n"), first.text

        second = at_hop(base, "2")
        assert second.status_code == 200
        assert second.text.startswith(f"CON {ORIGINAL_NAME_PROMPT}\nWhat is your name?")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
                pytest.fail("gateway serve did not stop on SIGINT")
    assert process.returncode == 0, stderr_path.read_text(encoding="utf-8")
    printed = stdout_path.read_text(encoding="utf-8")
    assert f"USSD callback: POST {base}/at/ussd" in printed, printed
    assert "store: embedded" in printed, printed
    assert (tmp_path / "isoko.db").exists()  # the default SQLite file, in the working directory


# --- 6. worker ------------------------------------------------------------------------

def test_worker_requires_redis_url(tmp_path):
    env = make_env(DATABASE_URL=sqlite_url(tmp_path / "worker.db"))
    result = gateway("worker", env=env, cwd=tmp_path)
    text = assert_clean_failure(result)
    assert "REDIS_URL is required" in text


# --- 7. a bad environment -------------------------------------------------------------

def test_bad_environment_names_every_bad_variable(tmp_path):
    token = "tiny-secret"  # too short, and a secret: must not be echoed
    env = make_env(DATABASE_URL=sqlite_url(tmp_path / "env.db"), USSD_SCREEN_LIMIT="abc",
                   CALLBACK_TOKEN=token, LOG_LEVEL="loud")
    result = gateway("menus", "list", env=env, cwd=tmp_path)
    text = assert_clean_failure(result)
    for name in ("USSD_SCREEN_LIMIT", "CALLBACK_TOKEN", "LOG_LEVEL"):
        assert name in text, text
    assert "3 problem" in text
    assert token not in text
    assert not (tmp_path / "env.db").exists()  # refused before touching anything


# --- version and help --------------------------------------------------------------------------


def test_version_is_the_one_in_pyproject_and_the_changelog(tmp_path):
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    result = gateway("--version", env=make_env(), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"Isoko {declared}"
    changelog = (REPO / "README.md").read_text(encoding="utf-8").split("## Changelog", 1)[1]
    newest = changelog.strip().splitlines()[0]
    assert newest.startswith(f"- {declared} ")


def test_help_lists_isokos_commands_only(tmp_path):
    result = gateway("--help", env=make_env(), cwd=tmp_path)
    assert result.returncode == 0
    commands = result.stdout.split("Commands:", 1)[1].split()
    listed = {word for word in commands if word.isalpha() and word.islower()}
    for command in ("serve", "worker", "dial", "menus", "db", "apikeys", "operators", "sms"):
        assert command in listed
    for flask_option in ("-e", "--env-file", "-A", "--app", "--debug"):
        assert flask_option not in result.stdout.split()
