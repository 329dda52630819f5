"""Cells of the CSV files people open in a spreadsheet."""

import re

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (=HYPERLINK(…) sends whoever clicks to another site; tab and CR hide a formula behind them).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# A spreadsheet that expects the other separator (pt-BR Excel splits on ";", others on ",")
# starts a new cell after either, quotes or not: a formula there is neutralised too.
_AFTER_SEPARATOR = re.compile(r"([,;])(?=[=+\-@\t\r])")


def spreadsheet_text(value: object) -> str:
    """Text a spreadsheet shows as typed, never runs as a formula: an apostrophe before a
    formula's first character, at the start and after every "," or ";" in the cell."""
    text = "" if value is None else str(value)
    text = _AFTER_SEPARATOR.sub(r"\1'", text)
    return "'" + text if text[:1] in FORMULA_STARTS else text
