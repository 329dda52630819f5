"""Cells of the CSV files people open in a spreadsheet."""

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (=HYPERLINK(…) sends whoever clicks to another site; tab and CR hide a formula behind them).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> str:
    """Text a spreadsheet shows as typed, never runs as a formula (a leading apostrophe)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text
