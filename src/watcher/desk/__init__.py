"""The desk: what an operator does by hand, the same from the web pages, the API and the
command line. `sources.py`: the desk's sources (add, edit, pause, remove, recheck);
`history.py`: a source's versions and any two compared; `readers.py`: the readers (erase,
unsubscribe, their mail, the list as CSV); `errors.py`: what it refuses."""
