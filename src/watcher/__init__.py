"""watcher: watch country profile pages and news feeds, email subscribers exactly what changed."""

# The one place the version lives (pyproject.toml reads it from here): looking it up in the
# installed metadata cost every command a tenth of its start-up.
__version__ = "0.1.0"
