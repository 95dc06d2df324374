"""What corral knows of each program: its category, by subcommand and option.

`_base` holds the handler interface and the option reader; each other module
is one domain of programs (git, files, text, builds, packages, network, ...).
"""
