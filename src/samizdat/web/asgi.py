"""The site as an ASGI application for any server: ``uvicorn samizdat.web.asgi:app --workers 4``.

Settings come from ``samizdat.toml`` in the working directory and ``SAMIZDAT_*`` variables.
"""

from samizdat.config import load_settings
from samizdat.web.app import create_app

app = create_app(load_settings())
