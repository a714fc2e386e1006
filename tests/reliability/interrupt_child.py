"""The child process of ``test_interrupts.py``'s real Ctrl-C cases (not a test module).

``python interrupt_child.py BASE_URL REF WAIT`` runs ``client.run(REF, input={"seconds": 60},
wait=WAIT)`` (WAIT ``false`` or a whole number of seconds) against the served emulator at
BASE_URL. A call that returns prints ``returned`` and exits 0 (what the tests must never see);
a KeyboardInterrupt prints ``interrupted`` and exits 130, as a shell reports Ctrl-C. SIGUSR1
writes every thread's stack to stderr (what a test shows when the child hangs).
"""

from __future__ import annotations

import faulthandler
import signal
import sys

import replicate


def main(argv: list[str]) -> int:
    # a test that finds this process hung asks for its stacks (SIGUSR1) before killing it
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    base_url, ref, wait_arg = argv
    wait: bool | int = False if wait_arg == "false" else int(wait_arg)
    client = replicate.Replicate(bearer_token="r8_interrupts", base_url=base_url)
    print("calling", flush=True)
    try:
        output = client.run(ref, input={"seconds": 60}, wait=wait)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    print("returned", repr(output), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
