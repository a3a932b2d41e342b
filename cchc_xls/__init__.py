"""cchc-xls: commune self-assessment of the administrative reform index (Chỉ số CCHC) in Excel."""

__version__ = "0.2.0"
