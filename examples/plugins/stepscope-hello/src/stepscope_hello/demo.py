"""Writes sample greetings: ``python -m stepscope_hello.demo runs/hello``.

Two runs greet in two languages; then ``stepscope --logdir runs/hello``
shows them in the Hello tab.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stepscope import SummaryWriter
from stepscope_hello.summary import add_greeting

GREETINGS = {
    "english": ["Hello, world", "Hello again", "Goodbye"],
    "french": ["Bonjour, le monde", "Re-bonjour", "Au revoir"],
}


def write_demo(logdir: Path) -> None:
    """One run per language, one greeting per step."""
    for run, texts in GREETINGS.items():
        with SummaryWriter(str(logdir / run)) as writer:
            for step, text in enumerate(texts):
                add_greeting(writer, "greetings", text, step * 10)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("Usage: python -m stepscope_hello.demo LOGDIR", file=sys.stderr)
        return 2
    write_demo(Path(argv[0]))
    print(f"Wrote greetings to {argv[0]}; see them with: stepscope --logdir {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
