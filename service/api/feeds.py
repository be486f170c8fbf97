"""Feed routes: follow an RSS/Atom feed, see what it made, stop following it."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service import feeds
from service.api.deps import DatabaseDep, PrincipalDep, SettingsDep
from service.api.responses import BODY_ERRORS, ERRORS
from service.schemas import FeedCreate, FeedList, FeedOut

router = APIRouter()


@router.post(
    "/v1/feeds", status_code=status.HTTP_201_CREATED, response_model=FeedOut, responses=BODY_ERRORS
)
def create_feed(
    body: FeedCreate,
    response: Response,
    principal: PrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
) -> FeedOut:
    """Follow a feed: each new item becomes a job (fetched, summarised, translated)."""
    feed = feeds.create_feed(db, settings, principal, body)
    response.headers["Location"] = f"/v1/feeds/{feed.id}"
    return feeds.describe(db, feed)


@router.get("/v1/feeds", response_model=FeedList, responses=ERRORS)
def list_feeds(principal: PrincipalDep, db: DatabaseDep) -> FeedList:
    """The feeds you follow, oldest first."""
    return feeds.describe_all(db, feeds.list_feeds(db, principal.tenant))


@router.get("/v1/feeds/{feed_id}", response_model=FeedOut, responses=ERRORS)
def get_feed(feed_id: str, principal: PrincipalDep, db: DatabaseDep) -> FeedOut:
    """A feed: its last poll, status, error, items seen and the jobs they became."""
    return feeds.describe(db, feeds.get_feed(db, feed_id, tenant=principal.tenant))


@router.delete("/v1/feeds/{feed_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
def delete_feed(feed_id: str, principal: PrincipalDep, db: DatabaseDep) -> Response:
    """Stop following a feed (the jobs it made stay)."""
    feeds.delete_feed(db, feed_id, tenant=principal.tenant)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
