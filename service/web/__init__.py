"""The desk: the web page at ``/`` where an editor submits an article and reads its
summary and translations as they arrive.

Server-rendered (Jinja2) with plain JavaScript modules, all shipped in this package:
no build step, no CDN. The page talks to the same API as every other client
(``/v1/...``), with the key kept in the browser session, and follows jobs through
their event streams. Article and translation text is only ever inserted as text;
the Content-Security-Policy allows no inline script and no HTML sinks.
"""
