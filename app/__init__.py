"""The clinicians' web page and JSON API (``emgdx serve``): FastAPI, server-rendered."""
