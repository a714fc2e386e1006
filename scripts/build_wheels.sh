#!/usr/bin/env bash
# Build a wheel for the core and one for every plugin under plugins/, into dist/ (or $DIST).
# Install them into another environment in one pip call: `pip install dist/*.whl`. The wheels an
# earlier build left there for these distributions (any version) are removed first, so that glob
# never sees two versions of one; no other file in $DIST is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DIST=${DIST:-dist}
projects=(.)
for dir in plugins/*/; do
  [ -f "$dir/pyproject.toml" ] && projects+=("$dir")
done
# A distribution's name as its wheel's file name starts: `name` of [project] in pyproject.toml,
# lowercased, each run of "-", "_" and "." made one "_".
wheel_name() {
  awk '/^\[/ { in_project = ($0 == "[project]") }
       in_project && /^name *=/ { sub(/^name *= *["\047]/, ""); sub(/["\047].*$/, ""); print; exit }' \
    "$1/pyproject.toml" | tr '[:upper:]' '[:lower:]' | sed -E 's/[-_.]+/_/g'
}
for project in "${projects[@]}"; do
  name=$(wheel_name "$project")
  [ -n "$name" ] || { echo "build_wheels: no [project] name in $project/pyproject.toml" >&2; exit 1; }
  rm -f "$DIST/$name"-*.whl
done
"$PYTHON" -m pip wheel -q --disable-pip-version-check --no-deps -w "$DIST" "${projects[@]}"
ls "$DIST"/*.whl
