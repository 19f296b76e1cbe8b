"""``spark-submit .../tuijian/spark/__main__.py run --logs ... --dataset ...``: the ``tuijian spark``
commands as a script spark-submit can run (the master and resources come from spark-submit)."""

from __future__ import annotations


def main() -> None:
    import sys

    from tuijian.cli import main as cli_main

    sys.argv = ["tuijian", "spark", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
