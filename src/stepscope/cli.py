"""The ``stepscope`` command line.

Errors a user can cause are printed as one ``Error: ...`` line with exit
code 1 (usage mistakes: Click's exit code 2), never as a traceback.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import click

from stepscope import __version__
from stepscope.errors import StepscopeError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except StepscopeError as error:
            raise click.ClickException(str(error)) from error
        except BrokenPipeError:
            # The reader of our output went away (e.g. `| head`): not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            raise SystemExit(0) from None
        except OSError as error:
            raise click.ClickException(
                f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
            ) from error


def _serve_options(function: Any) -> Any:
    """TensorBoard's flags, so muscle memory works (``--samples_per_plugin``, ``--load_fast`` accepted)."""
    options = [
        click.option("--logdir", help="The directory to read runs from."),
        click.option("--logdir_spec", help="name1:path1,name2:path2 (TensorBoard's form)."),
        click.option("--host", help="Interface to listen on (default 127.0.0.1)."),
        click.option(
            "--bind_all", is_flag=True, help="Listen on every interface (a token is then required)."
        ),
        click.option(
            "--port",
            type=click.IntRange(0, 65535),
            help="Port (default 6006, or the next free one).",
        ),
        click.option(
            "--reload_interval",
            type=click.FloatRange(0.05),
            default=1.0,
            show_default=True,
            help="Seconds between looks at the logdir.",
        ),
        click.option(
            "--path_prefix", default="", help="Serve under this URL path (behind a proxy)."
        ),
        click.option("--window_title", default="stepscope", show_default=True),
        click.option(
            "--index",
            "index_path",
            type=click.Path(dir_okay=False),
            help="The index file (default: in the user cache).",
        ),
        click.option(
            "--no_auth", is_flag=True, help="No token even when listening beyond localhost."
        ),
        click.option(
            "--samples_per_plugin",
            hidden=True,
            help="Accepted for TensorBoard compatibility; stepscope keeps everything.",
        ),
        click.option("--load_fast", hidden=True, help="Accepted for TensorBoard compatibility."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_server(**flags: Any) -> None:
    from stepscope.server.serve import ServeOptions, serve

    for ignored in ("samples_per_plugin", "load_fast"):
        if flags.pop(ignored, None) is not None:
            click.echo(
                f"Note: --{ignored} is accepted but not needed: stepscope keeps every point and image.",
                err=True,
            )
    index_path = flags.pop("index_path")
    serve(ServeOptions(index=index_path, **flags), echo=lambda line: click.echo(line, err=True))


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="stepscope")
@_serve_options
@click.pass_context
def cli(ctx: click.Context, /, **flags: Any) -> None:
    """stepscope: fast, open training monitoring for deep learning.

    `stepscope --logdir runs` serves the logdir (as `stepscope serve`).
    """
    if ctx.invoked_subcommand is not None:
        return
    if not (flags.get("logdir") or flags.get("logdir_spec")):
        click.echo(ctx.get_help())
        return
    _run_server(**flags)


@cli.command()
@_serve_options
def serve(**flags: Any) -> None:
    """Serve a logdir: read it into the index, follow it, and serve the dashboard's API."""
    _run_server(**flags)


@cli.command()
@click.argument("logdir", default="runs/stepscope-demo", type=click.Path(file_okay=False))
@click.option("--steps", default=500, show_default=True, type=click.IntRange(1, 1_000_000))
def demo(logdir: str, steps: int) -> None:
    """Write a sample logdir (three runs, every kind of data) and print what is in it."""
    from stepscope.demo import describe, write_demo

    started = time.perf_counter()
    write_demo(logdir, steps)
    elapsed = time.perf_counter() - started
    click.echo(f"Wrote a demo logdir to {os.path.abspath(logdir)} in {elapsed:.2f} s:")
    total = 0
    for contents in describe(logdir):
        events = sum(contents.counts.values())
        total += events
        click.echo(f"  run {contents.run}: {contents.files} file(s), {events} values")
        for (kind, tag), count in sorted(contents.counts.items()):
            shown = count if count else "metadata"
            click.echo(f"    {kind:<15} {tag:<40} {shown:>8}")
    click.echo(f"{total} values in all. TensorBoard reads it too: tensorboard --logdir {logdir}")


def _regex(value: str | None, option: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error as error:
        raise click.BadParameter(
            f"{value!r} is not a regular expression ({error})", param_hint=option
        ) from None


@cli.command()
@click.argument("logdir")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "parquet", "json"]),
    default="csv",
    show_default=True,
    help="json writes one object per line (JSON Lines).",
)
@click.option(
    "--run", "run_regex", metavar="REGEX", help="Only runs whose name matches (re.search)."
)
@click.option("--tag", "tag_regex", metavar="REGEX", help="Only tags that match (re.search).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout."
)
@click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False),
    help="The index file (default: in the user cache).",
)
def export(
    logdir: str,
    format_: str,
    run_regex: str | None,
    tag_regex: str | None,
    output: str | None,
    index_path: str | None,
) -> None:
    """Export the scalars of LOGDIR (run, tag, step, wall_time, value) at full resolution."""
    runs, tags = _regex(run_regex, "--run"), _regex(tag_regex, "--tag")
    if format_ == "parquet" and output is None:
        raise click.UsageError("parquet is a binary format: pass -o FILE")
    from stepscope.api import open as open_logdir
    from stepscope.store.export import export_scalars

    with open_logdir(logdir, index_path) as opened:
        for problem in opened.last_update.problems if opened.last_update else []:
            click.echo(f"warning: {problem}", err=True)
        count = export_scalars(opened.data, format_, output, opened.series("scalars", runs, tags))
    if output is not None:
        click.echo(f"Wrote {count} scalar points to {output}", err=True)


def main() -> None:
    """Entry point of the ``stepscope`` console script."""
    cli(prog_name="stepscope")


if __name__ == "__main__":
    main()
