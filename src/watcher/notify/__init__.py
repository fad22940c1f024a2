"""Telling people: the operator's alerts (`alerts.py`), pending news composed into messages
(`queue.py`, each message `composed.py`), delivered on every channel (`delivery.py`,
`channels/`); editors' invitations and reminders, and an editor's decision (`review.py`)."""
