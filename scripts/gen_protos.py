"""Regenerate the Python protobuf modules from src/stepscope/proto/*.proto.

For every ``src/stepscope/proto/<name>.proto`` this writes
``<name>_pb2.py`` and ``<name>_pb2.pyi`` next to it, using the protoc bundled
with grpcio-tools::

    python -m grpc_tools.protoc -I src -I <grpc_tools>/_proto \
        --python_out=src --pyi_out=src src/stepscope/proto/*.proto

The generated files are committed. Run from anywhere, with the project's
virtualenv active (the output depends on the grpcio-tools version, so use the
pinned one)::

    python scripts/gen_protos.py          # regenerate, print what changed
    python scripts/gen_protos.py --check  # CI: exit 1 if committed files are stale

``--check`` generates into a temporary directory and compares; it never writes
into the tree. Generated files whose .proto is gone are deleted by a normal run
and reported by ``--check``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc_tools

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PROTO_PACKAGE = Path("stepscope") / "proto"
PROTO_DIR = SRC / PROTO_PACKAGE
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi")


def protoc_include_dir() -> Path:
    """Directory of the well-known .proto files shipped with grpcio-tools."""
    return Path(grpc_tools.__file__).resolve().parent / "_proto"


def protoc_command(out_dir: Path, protos: list[Path]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{SRC}",
        f"-I{protoc_include_dir()}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        *(str(p) for p in protos),
    ]


def generated_names(directory: Path) -> set[str]:
    """Names of the generated files in ``directory``."""
    if not directory.is_dir():
        return set()
    return {
        p.name for p in directory.iterdir() if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    }


def generate(out_dir: Path, protos: list[Path]) -> None:
    cmd = protoc_command(out_dir, protos)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        sys.exit(f"protoc failed (exit code {result.returncode})")
    if result.stderr:
        # protoc warnings (e.g. unused imports) are worth seeing.
        sys.stderr.write(result.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed generated files are stale",
    )
    args = parser.parse_args(argv)

    protos = sorted(PROTO_DIR.glob("*.proto"))
    if not protos:
        sys.exit(f"no .proto files in {PROTO_DIR}")

    with tempfile.TemporaryDirectory(prefix="gen_protos.") as tmp:
        out_root = Path(tmp)
        generate(out_root, protos)
        fresh_dir = out_root / PROTO_PACKAGE
        fresh = generated_names(fresh_dir)
        committed = generated_names(PROTO_DIR)

        changed = sorted(
            name
            for name in fresh
            if name not in committed
            or (PROTO_DIR / name).read_bytes() != (fresh_dir / name).read_bytes()
        )
        stale = sorted(committed - fresh)
        unchanged = sorted(fresh - set(changed))

        def rel(name: str) -> str:
            return (PROTO_DIR / name).relative_to(ROOT).as_posix()

        if args.check:
            for name in changed:
                state = "differs" if name in committed else "missing"
                print(f"{state}: {rel(name)}")
            for name in stale:
                print(f"stale (no .proto): {rel(name)}")
            if changed or stale:
                print(
                    "generated protobuf code is out of date; run: python scripts/gen_protos.py",
                    file=sys.stderr,
                )
                return 1
            print(f"ok: {len(fresh)} generated files up to date")
            return 0

        for name in changed:
            shutil.copyfile(fresh_dir / name, PROTO_DIR / name)
            print(f"wrote {rel(name)}")
        for name in unchanged:
            print(f"unchanged {rel(name)}")
        for name in stale:
            (PROTO_DIR / name).unlink()
            print(f"removed {rel(name)} (its .proto is gone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
