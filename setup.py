"""Builds the dashboard page (``web/``, TypeScript and Vite) into the package on every build or install.

``pip install .`` and ``pip install -e .`` both run ``build_py``, which runs
``npm install`` (when ``web/node_modules`` is missing or older than the lock
file) and ``npm run build`` (when a source is newer than the built page).
The output, ``src/stepscope/web/dist``, is not committed. Everything else
about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = ROOT / "src" / "stepscope" / "web" / "dist"


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def build_web() -> None:
    if not (WEB / "package.json").is_file():
        if (DIST / "index.html").is_file():
            return  # a source distribution that carries the built page
        raise SystemExit(
            "stepscope: neither web/ nor a built page found; cannot build the dashboard"
        )
    sources = [
        *WEB.joinpath("src").rglob("*"),
        *WEB.joinpath("public").rglob("*"),
        *(
            WEB / name
            for name in (
                "index.html",
                "package.json",
                "package-lock.json",
                "vite.config.ts",
                "tsconfig.json",
            )
        ),
    ]
    built = DIST / "index.html"
    if built.is_file() and built.stat().st_mtime >= _newest(sources):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "stepscope: building the dashboard page needs Node.js (18 or newer) and npm on PATH; "
            "install them (e.g. apt-get install nodejs npm) and run the install again"
        )
    installed = WEB / "node_modules" / ".package-lock.json"
    steps = []
    if (
        not installed.is_file()
        or installed.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime
    ):
        # Not `npm ci`: npm 11 leaves other platforms' optional packages (rollup's
        # native builds) out of the lock file and `npm ci` then refuses it. This
        # installs the locked versions and leaves package-lock.json as it is.
        steps.append([npm, "install", "--no-audit", "--no-fund", "--no-save"])
    steps.append([npm, "run", "build"])
    for command in steps:
        if subprocess.run(command, cwd=WEB, check=False).returncode != 0:
            raise SystemExit(
                f"stepscope: `{' '.join(command[1:])}` in web/ failed (its output is above); "
                "fix that, or check that the npm registry is reachable, and install again"
            )


class BuildPy(build_py):
    """``build_py`` that builds the page first, so that its files are package data."""

    def run(self) -> None:
        build_web()
        super().run()


setup(cmdclass={"build_py": BuildPy})
