"""Copies each command's `--help` output into docs/cli.md.

Run from the repository root after changing a flag: `python docs/cli_reference.py`. The page
keeps its own text; only the blocks between `<!-- help: COMMAND -->` and `<!-- end help -->`
are replaced. `--check` exits 1 (and changes nothing) when the page is out of date.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).with_name("cli.md")
BLOCK = re.compile(r"(<!-- help: (?P<command>[\w-]+) -->\n).*?(<!-- end help -->)", re.DOTALL)


def help_text(command: str) -> str:
    """Returns `keras-seq2seq COMMAND --help` as argparse prints it 100 columns wide."""
    executable = Path(sys.executable).with_name("keras-seq2seq")
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    result = subprocess.run(
        [str(executable), command, "--help"], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.rstrip()


def render(page: str) -> str:
    """Returns `page` with every help block filled from the current `--help` output."""

    def fill(match: re.Match) -> str:
        text = help_text(match["command"])
        return f"{match[1]}```text\n{text}\n```\n{match[3]}"

    return BLOCK.sub(fill, page)


def main() -> int:
    page = PAGE.read_text(encoding="utf-8")
    new = render(page)
    if "--check" in sys.argv[1:]:
        if new != page:
            print(f"{PAGE} is out of date: run python docs/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
