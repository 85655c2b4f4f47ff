"""The README's quickstarts run as written, and the docs' links and CLI reference hold.

Which README blocks run: fenced blocks tagged `console` and `python`, nothing else.

- A `console` block holds `$ keras-seq2seq ...` commands (a trailing backslash continues a
  line), each followed by the lines it prints, if the README shows any: the command must
  exit 0 and, when lines are shown, print exactly those lines on stdout.
- `python` blocks run in README order, in one namespace.
- Blocks tagged `sh` (installing, `make`, docker) and `text` are shown only, never run.

Both kinds run in a temporary directory that holds a copy of the repository's
`saved_models/`, so the README's relative paths work and nothing is written into the
repository.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RUN_TAGS = {"console", "python"}
SHOWN_TAGS = {"sh", "text"}
FENCE = re.compile(r"^```(?P<tag>[\w-]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
COMMAND_TIMEOUT_S = 300


def _blocks(tag: str) -> list[tuple[int, str]]:
    """Returns `(line number, body)` of the README's fenced blocks with this tag."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start("body")) + 1, match["body"])
        for match in FENCE.finditer(text)
        if match["tag"] == tag
    ]


def _console_commands(body: str) -> list[tuple[str, list[str]]]:
    """Splits a `console` block into `(command line, lines it prints)`."""
    commands: list[tuple[str, list[str]]] = []
    lines = iter(body.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + next(lines).strip()
            commands.append((command, []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"console block starts with output, not '$ ': {line!r}")
    return commands


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A temporary working directory with a copy of `saved_models/`."""
    shutil.copytree(ROOT / "saved_models", tmp_path / "saved_models")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_is_a_short_guide():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


def test_every_readme_block_is_tagged_to_run_or_to_show():
    text = README.read_text(encoding="utf-8")
    tags = [match["tag"] for match in FENCE.finditer(text)]
    assert set(tags) <= RUN_TAGS | SHOWN_TAGS, tags
    assert "console" in tags and "python" in tags
    for _, body in _blocks("console"):
        for command, _ in _console_commands(body):
            assert shlex.split(command, comments=True)[0] == "keras-seq2seq", command


def _run_console_blocks(workdir: Path) -> list[str]:
    """Runs the README's `console` commands; returns what went wrong, one entry a command."""
    executable = Path(sys.executable).with_name("keras-seq2seq")
    failures = []
    for line, body in _blocks("console"):
        for command, shown in _console_commands(body):
            argv = [str(executable), *shlex.split(command, comments=True)[1:]]
            result = subprocess.run(
                argv,
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                env={**os.environ, "COLUMNS": "100"},
            )
            where = f"README.md:{line}: $ {command}"
            if result.returncode != 0:
                failures.append(f"{where}\nexit {result.returncode}\n{result.stderr[-3000:]}")
                return failures  # later commands build on this one
            if shown and result.stdout.splitlines() != shown:
                failures.append(f"{where}\nprinted {result.stdout!r}, the README shows {shown!r}")
    return failures


def _run_python_blocks() -> None:
    """Runs the README's `python` blocks in order, in one namespace, in the current directory."""
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for line, body in _blocks("python"):
        # Padded with newlines so a traceback names the README's own line numbers.
        exec(compile("\n" * (line - 1) + body, str(README), "exec"), namespace)


@pytest.mark.slow
def test_readme_quickstarts_run(workdir):
    # The CLI commands are subprocesses, so they run beside the Python blocks (both
    # quickstarts are independent: different run directories), halving the wall time.
    with ThreadPoolExecutor(max_workers=1) as pool:
        console = pool.submit(_run_console_blocks, workdir)
        _run_python_blocks()
        failures = console.result()
    assert not failures, "\n\n".join(failures)
    assert (workdir / "exported" / "dates-py" / "1" / "saved_model.pb").is_file()
    assert (workdir / "exported" / "dates-tiny" / "1" / "saved_model.pb").is_file()


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize(
    "page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda page: str(page.relative_to(ROOT))
)
def test_links_reach_files_and_headings(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for match in LINK.finditer(text):
        target = match["target"]
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: link to a missing file: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: no heading for {target}"


@pytest.mark.slow
def test_cli_reference_matches_help_output():
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.PAGE.read_text(encoding="utf-8")
    assert module.render(page) == page, "docs/cli.md is out of date: run docs/cli_reference.py"
