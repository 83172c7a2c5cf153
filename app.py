"""The landscape dashboard. `python app.py` runs it locally; `gunicorn app:server` serves it.

Configuration comes from the environment (see the README, "Configuration"):
LANDSCAPE_CACHE_DIR, REDIS_URL, SECRET_KEY, LANDSCAPE_URL_PREFIX, LANDSCAPE_BASIC_AUTH,
LANDSCAPE_TOKEN, LANDSCAPE_MAX_JOBS, LANDSCAPE_JOB_SECONDS.
"""
import os
import sys

from landscape.errors import SettingsError
from landscape.settings import from_env
from landscape.ui.dashboard import create_app

try:
    app = create_app(from_env())
except SettingsError as exc:
    sys.exit(f"landscape: configuration error: {exc}")

server = app.server

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8050")),
            debug=False)
