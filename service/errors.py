"""One error family for the whole service.

Every error has a stable machine-readable ``code``, a human ``message`` and the
HTTP status it maps to when it reaches a caller. Errors raised inside a worker
are stored on the job as ``{"code", "message"}``; the same codes appear there.

    DragomanError                     (500 internal_error)
    ├── PermanentError                a retry will not help; the job fails
    │   ├── InvalidInput              (422 invalid_input)
    │   ├── UnsupportedLanguage       (422 unsupported_language)
    │   ├── TextTooLong               (413 text_too_long)
    │   ├── NotFound                  (404 not_found)
    │   ├── Conflict                  (409 conflict)
    │   ├── ModelUnavailable          (503 model_unavailable)
    │   ├── JobTimeout                (504 timeout)
    │   ├── auth.Unauthorized         (401 unauthorized)
    │   ├── limits.PayloadTooLarge    (413 payload_too_large)
    │   ├── jobs.IdempotencyConflict  (409 idempotency_conflict)
    │   ├── pipeline's PartialFailure (partial_failure: some target languages failed)
    │   ├── FetchRefused *            (422 fetch_refused: not http(s), credentials, an
    │   │                              internal address, at submission or any redirect)
    │   ├── FetchFailed *             (502 fetch_failed: the site answered 4xx, or garbage)
    │   ├── FetchTooLarge *           (413 fetch_too_large)
    │   ├── FetchUnsupportedType *    (415 fetch_unsupported_type: a PDF, an image, ...)
    │   ├── FetchTooManyRedirects *   (502 fetch_too_many_redirects)
    │   ├── NotAnArticle              (422 not_an_article: nothing worth translating)
    │   └── NotAFeed                  (422 not_a_feed: not RSS or Atom)
    └── TransientError                a retry may help; tasks retry with backoff
        ├── BrokerUnavailable         (503 broker_unavailable)
        ├── DatabaseUnavailable       (503 database_unavailable)
        ├── limits.RateLimited        (429 rate_limited)
        ├── limits.QuotaExceeded      (429 quota_exceeded)
        ├── limits.QueueFull          (503 queue_full)
        ├── FetchUnavailable *        (502 fetch_unavailable: no connection, 5xx, 429)
        └── FetchTimeout *            (504 fetch_timeout: past the total time limit)

``*``: also a ``FetchError``, so a caller can catch every way a fetch ends badly.
Transient errors answer with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DragomanError(Exception):
    """Base of all errors the service reports to callers.

    A subclass states its code and status in its class line:
    ``class NotFound(PermanentError, code="not_found", status_code=404)``.
    """

    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500

    def __init_subclass__(cls, code: str | None = None, status_code: int | None = None) -> None:
        super().__init_subclass__()
        if code is not None:
            cls.code = code
        if status_code is not None:
            cls.status_code = status_code

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class PermanentError(DragomanError):
    """The same request will fail the same way; do not retry."""


class TransientError(DragomanError, status_code=503):
    """A dependency is briefly unavailable; retrying later may succeed."""


class InvalidInput(PermanentError, code="invalid_input", status_code=422):
    """The request is malformed: wrong types, empty text, unknown fields."""


class UnsupportedLanguage(PermanentError, code="unsupported_language", status_code=422):
    """A code that is no language, or one the model does not know."""


class TextTooLong(PermanentError, code="text_too_long", status_code=413):
    """An article over the size limit, or a sentence over the model's input limit."""


class NotFound(PermanentError, code="not_found", status_code=404):
    """No such resource, or another tenant's (ids do not leak)."""


class Conflict(PermanentError, code="conflict", status_code=409):
    """The request contradicts an earlier one."""


class ModelUnavailable(PermanentError, code="model_unavailable", status_code=503):
    """The model's files are not on this machine and cannot be fetched or loaded."""


class JobTimeout(PermanentError, code="timeout", status_code=504):
    """A job ran past its time limit."""


class BrokerUnavailable(TransientError, code="broker_unavailable"):
    """The queue cannot be reached."""


class DatabaseUnavailable(TransientError, code="database_unavailable"):
    """The store cannot be reached."""


class FetchError(DragomanError, code="fetch_failed"):
    """Fetching a page or a feed did not give a document (see the subclasses)."""


class FetchRefused(FetchError, PermanentError, code="fetch_refused", status_code=422):
    """The URL is not one the service may fetch (scheme, credentials, internal address)."""


class FetchFailed(FetchError, PermanentError, code="fetch_failed", status_code=502):
    """The site answered, but not with a document (4xx, a malformed answer)."""


class FetchTooLarge(FetchError, PermanentError, code="fetch_too_large", status_code=413):
    """The page is over DRAGOMAN_FETCH_MAX_BYTES (decompressed)."""


class FetchUnsupportedType(
    FetchError, PermanentError, code="fetch_unsupported_type", status_code=415
):
    """Not HTML, XHTML or plain text (a PDF, an image)."""


class FetchTooManyRedirects(
    FetchError, PermanentError, code="fetch_too_many_redirects", status_code=502
):
    """More redirects than DRAGOMAN_FETCH_MAX_REDIRECTS."""


class FetchUnavailable(FetchError, TransientError, code="fetch_unavailable", status_code=502):
    """The site could not be reached, or answered 5xx / 429: later may work."""


class FetchTimeout(FetchError, TransientError, code="fetch_timeout", status_code=504):
    """The page did not arrive within DRAGOMAN_FETCH_TIMEOUT."""


class NotAnArticle(PermanentError, code="not_an_article", status_code=422):
    """The page has no article text worth translating (a front page, a login form)."""


class NotAFeed(PermanentError, code="not_a_feed", status_code=422):
    """The document at a feed's URL is not an RSS or Atom feed."""
