"""Alert notifications: webhook and e-mail delivery, retried and recorded, off the hot path.

payload.py builds and signs what is sent (pure); webhook.py and email.py deliver
one notification to one target; dispatcher.py runs them on a background thread
and escalates alerts left unacknowledged. See docs/decisions/0016.
"""
