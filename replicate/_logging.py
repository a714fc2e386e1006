"""``REPLICATE_LOG=debug|info`` switches on the ``replicate`` logger, as in the official SDK.

Log lines never carry credentials: URLs and headers go through ``_redact`` first.
"""

from __future__ import annotations

import logging
import os

LOG_ENV = "REPLICATE_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_configured = False


def setup_from_env() -> None:
    """Attach a stderr handler to the ``replicate`` logger once, if ``REPLICATE_LOG`` asks."""
    global _configured
    if _configured:
        return
    _configured = True
    level = _LEVELS.get((os.environ.get(LOG_ENV) or "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("replicate")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s")
        )
        logger.addHandler(handler)
