"""Configuration: one TOML file plus `WATCHER_<SECTION>__<KEY>` environment overrides.

The programs read it with `watcher.loading.load_config`, which adds the rules of the kinds of
source and of channel (`config/rules.py`) to the file's own.
"""

from watcher.config.loader import Config, ConfigError
from watcher.config.model import Settings
from watcher.config.sources import Source, derive_source_id
from watcher.config.units import format_duration, parse_duration, parse_size

__all__ = [
    "Config",
    "ConfigError",
    "Settings",
    "Source",
    "derive_source_id",
    "format_duration",
    "parse_duration",
    "parse_size",
]
