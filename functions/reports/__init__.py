"""Reports: the monthly finance pack (PDF, XLSX, CSV), on demand, on a schedule by e-mail, on period close."""
