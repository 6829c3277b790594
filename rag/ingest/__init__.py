"""Files to passages: read each format (text, Markdown, saved web pages, PDF), strip page chrome,
keep tables readable, and cut clean documents into cited-span passages. Knows nothing of models."""
