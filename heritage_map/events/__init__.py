"""Events that associations announce: their records, forms, pages and iCalendar feeds."""
