"""The web app's browser fixtures, for the admin page's Remote access section."""

from tests.plugins.web.conftest import chromium_ready, console, new_page

__all__ = ["chromium_ready", "console", "new_page"]
