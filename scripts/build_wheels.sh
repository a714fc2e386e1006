#!/usr/bin/env bash
# Build a wheel for the core and one for every plugin under plugins/, into dist/ (or $DIST).
# Install them into another environment in one pip call: `pip install dist/*.whl`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DIST=${DIST:-dist}
projects=(.)
for dir in plugins/*/; do
  [ -f "$dir/pyproject.toml" ] && projects+=("$dir")
done
"$PYTHON" -m pip wheel -q --disable-pip-version-check --no-deps -w "$DIST" "${projects[@]}"
ls "$DIST"/*.whl
