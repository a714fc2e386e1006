#!/usr/bin/env bash
# Build the wheels (scripts/build_wheels.sh), install them into a fresh virtualenv as another
# project would, and check that `replicate` (with v2's type subpackages) and its plugins import
# from there, and that a client built there registers the token-command plugin. Then check that a
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
# Every installed plugin is loaded (REPLICATE_PLUGINS unset), and a broken one is an error.
env -u REPLICATE_PLUGINS REPLICATE_STRICT_PLUGINS=1 \
  "$work/venv/bin/python" - "$work/venv" "$root" <<'PY'
import importlib.metadata as md
import os
import sys

venv, checkout = sys.argv[1], sys.argv[2]
import replicate
import replicate.types.models
import replicate.types.webhooks.default  # subpackages the wheel must carry too

where = os.path.realpath(replicate.__file__)
assert where.startswith(os.path.realpath(venv)), f"replicate imported from {where}"
assert not where.startswith(os.path.realpath(checkout) + os.sep), where
assert md.version("replicate") == replicate.__version__, md.version("replicate")
plugins = {ep.name: ep.load() for ep in md.entry_points(group="replicate")}
assert "token-command" in plugins, sorted(plugins)
# The plugin as a client loads it: registered in the client's plugin manager (there is no public
# accessor; this is what tests/test_plugins.py looks at too).
client = replicate.Replicate(bearer_token="r8_x", base_url="http://127.0.0.1:9/v1")
try:
    manager = client._core.plugins
    assert "token-command" in manager.installed_names, manager.installed_names
    assert manager.pm.get_plugin("token-command") is plugins["token-command"]
finally:
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
