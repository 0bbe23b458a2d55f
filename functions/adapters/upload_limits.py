"""The limits of an uploaded file, each checked as the file is read (docs/integrators.md, "Uploads").

They bound the worker's memory whatever the file: a CSV is at most MAX_UPLOAD_BYTES of text, and
a workbook, however well it compresses, is refused the moment it crosses one of the XLSX limits
(functions/adapters/workbooks.py). Measured peak memory: bench/bench_upload_limits.py.
"""

from __future__ import annotations

# The request body (a CSV or an .xlsx as sent).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Data rows of a file, blank ones included: a sheet may reach row MAX_ROWS + 1 (the header first).
MAX_ROWS = 20_000
MAX_SHEET_ROWS = MAX_ROWS + 1
# Columns that may hold a value; cells of a row, filled or only formatted (Excel writes formatted
# empty cells), counted up to MAX_CELLS_PER_ROW.
MAX_COLUMNS = 30
MAX_CELLS_PER_ROW = 256
# Characters of one cell (the longest field of the contract, a memo, has 500) and of all cells of
# a file (a 5 MB CSV holds at most 5 million).
MAX_CELL_CHARS = 1_000
MAX_TEXT_CHARS = 8_000_000
# A workbook's zip: decompressed bytes of all its parts, of any part that is not a worksheet, and
# how many parts; XML elements of a part openpyxl builds as a tree; shared strings.
MAX_EXPANDED_BYTES = 64 * 1024 * 1024
MAX_PART_BYTES = 8 * 1024 * 1024
MAX_PARTS = 1_000
MAX_PART_ELEMENTS = 100_000
MAX_SHARED_STRINGS = 400_000
