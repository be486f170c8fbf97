"""A LibreTranslate 1.9-compatible API (``/translate``, ``/detect``, ``/languages``...)."""

from service.api.libretranslate.routes import router

__all__ = ["router"]
