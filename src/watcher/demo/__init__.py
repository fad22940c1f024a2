"""The bundled example site and `watcher demo`: the whole loop, offline."""
