"""Configuration: one TOML file plus `WATCHER_<SECTION>__<KEY>` environment overrides."""

from watcher.config.loader import Config, ConfigError, build_config, load_config
from watcher.config.model import Settings
from watcher.config.sources import Source, derive_source_id
from watcher.config.units import format_duration, parse_duration, parse_size

__all__ = [
    "Config",
    "ConfigError",
    "Settings",
    "Source",
    "build_config",
    "derive_source_id",
    "format_duration",
    "load_config",
    "parse_duration",
    "parse_size",
]
