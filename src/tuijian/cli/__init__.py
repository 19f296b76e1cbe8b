"""The ``tuijian`` command line. Each sub-module registers its commands on :data:`app`.

Heavy imports happen inside the commands so that ``tuijian --help`` stays fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tuijian",
    help="Tuijian (推荐): personalised recommendations with grounded AIGC for online shops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from tuijian.cli import data_cmds, eval_cmds

    for module in (data_cmds, eval_cmds):
        module.register(app)
    for name in (
        "serve_cmds",
        "nlp_cmds",
        "model_cmds",
        "demo_cmds",
        "privacy_cmds",
        "abtest_cmds",
        "spark_cmds",
    ):
        try:
            module = __import__(f"tuijian.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:  # a sub-module not present in this build
            if exc.name != f"tuijian.cli.{name}":
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    """Entry point of the ``tuijian`` script; turns Tuijian errors into clear messages and exit code 2."""
    from tuijian.exceptions import TuijianError

    try:
        app()
    except TuijianError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise SystemExit(2) from None
