"""`cchc serve`: the office's page in the browser, over the same files and library as the CLI."""

from cchc_xls.web.app import create_app

__all__ = ["create_app"]
