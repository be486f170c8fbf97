"""Where an article comes from: pasted text, HTML, or a page fetched from its URL."""
