#!/usr/bin/env bash
# Set up and run the main job: real model runs on the offline emulator, with no API token and no
# network, through the `replicate` command and through the Python API (examples/quickstart.py).
EXTRAS="" source "$(dirname "$0")/_venv.sh"
env -u REPLICATE_API_TOKEN "$VENV/bin/replicate" --transport emulator \
  run replicate/hello-world text="fresh machine"
env -u REPLICATE_API_TOKEN "$VENV/bin/python" examples/quickstart.py
