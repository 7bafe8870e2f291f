#!/usr/bin/env python
"""Management commands of the benchmark peer (bench/peer): `python bench/peer/manage.py migrate`."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
