"""CLI subcommands, one module each: ``HELP``, ``add_arguments(parser)``, ``run(args) -> int``.

Modules here import heavy libraries inside ``run`` so that ``m3dreid --help`` stays fast.
"""
