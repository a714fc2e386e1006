#!/usr/bin/env bash
# Set up and run the main job: a real request through the SDK against a local server.
EXTRAS="" source "$(dirname "$0")/_venv.sh"
"$VENV/bin/python" examples/local_request.py
