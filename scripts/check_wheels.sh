#!/usr/bin/env bash
# Build the wheels (scripts/build_wheels.sh), install them into a fresh virtualenv as another
# project would, and check that `replicate` and its plugins import from there. Then check that a
# plugin installed without the core is a clear pip error: its dependency on the core can never be
# met by the official package of the same name.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$(pwd)

DIST="$work/dist" PYTHON="$PYTHON" bash scripts/build_wheels.sh >/dev/null
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$work"/dist/*.whl
cd "$work"  # not the checkout: its files must not be what gets imported
"$work/venv/bin/python" - "$work/venv" "$root" <<'PY'
import importlib.metadata as md
import os
import sys

venv, checkout = sys.argv[1], sys.argv[2]
import replicate

where = os.path.realpath(replicate.__file__)
assert where.startswith(os.path.realpath(venv)), f"replicate imported from {where}"
assert not where.startswith(os.path.realpath(checkout) + os.sep), where
assert md.version("replicate") == replicate.__version__, md.version("replicate")
plugins = {ep.name: ep.load() for ep in md.entry_points(group="replicate")}
assert "builtin" not in plugins or plugins["builtin"] is not None
client = replicate.Replicate(bearer_token="r8_x", base_url="http://127.0.0.1:9/v1")
client.close()
print(f"check_wheels: replicate {replicate.__version__} from {where}; plugins: {sorted(plugins)}")
PY

# A plugin without the core: pip must refuse (it may look on the package index, where only the
# official package of the same name is), never install another SDK in its place.
"$PYTHON" -m venv "$work/alone"
plugin_wheel=$(ls "$work"/dist/replicate_token_command-*.whl)
if out=$("$work/alone/bin/python" -m pip install --disable-pip-version-check "$plugin_wheel" 2>&1); then
  echo "check_wheels: a plugin wheel installed without the core:" >&2
  echo "$out" >&2
  "$work/alone/bin/python" -m pip list >&2
  exit 1
fi
grep -q "No matching distribution found for replicate" <<<"$out" || {
  echo "check_wheels: pip failed, but not with the expected error:" >&2
  echo "$out" >&2
  exit 1
}
echo "check_wheels: without the core, pip refuses: $(grep -m1 'No matching distribution' <<<"$out")"
