"""``python -m worker.cli``: the ``dragoman`` command."""

from worker.cli import main

main()
