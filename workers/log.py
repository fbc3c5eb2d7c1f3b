"""structlog set-up: key-value events, console on a terminal, JSON otherwise.

Bind ``case_id``, ``workflow_id`` and ``actor`` where known; never log personal data. As a
second line of defence, ``drop_personal`` removes ``personal`` parts and the known personal
fields from every log entry (the engine's own and the libraries'), however deeply nested.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names that hold personal data in the catalogue and the commands.
PERSONAL_FIELDS = frozenset(
    {"personal", "name", "family_name", "address", "notes", "date_of_birth", "description"}
)
REMOVED = "[personal data removed]"


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {
            k: REMOVED if k in PERSONAL_FIELDS else _scrubbed(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrubbed(v, depth + 1) for v in value]
    return value


def drop_personal(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: personal parts and fields replaced by a marker."""
    for key, value in list(event_dict.items()):
        if key in PERSONAL_FIELDS:
            event_dict[key] = REMOVED
        elif isinstance(value, dict | list | tuple):
            event_dict[key] = _scrubbed(value)
    return event_dict


def configure_logging(log_format: str = "auto", level: str = "info") -> None:
    """Configure structlog and the stdlib root logger once per process."""
    renderer: structlog.types.Processor
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    if use_console:
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_personal,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library (asyncpg, uvicorn, Temporal's SDK): their
    # records are rendered the same way, so a JSON log stays JSON, tracebacks included.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric_level, logging.WARNING))
