"""HTTP routes of glossaries: CRUD, CSV and TBX import and export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.datastructures import UploadFile

from service.api.deps import DatabaseDep, PrincipalDep, SettingsDep
from service.errors import InvalidInput
from service.glossary import domain, store
from service.glossary.schemas import (
    GlossaryImported,
    GlossaryIn,
    GlossaryList,
    GlossaryOut,
    ImportFormat,
)
from service.glossary.tbx import TbxVersion
from service.schemas import ErrorResponse

router = APIRouter(prefix="/v1/glossaries", tags=["glossaries"])

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 409, 413, 422, 429, 503)
}
_FILE_BODY = {
    "requestBody": {
        "description": "The file: as the raw body, or as the `file` field of a form upload.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-tbx+xml": {"schema": {"type": "string"}},
            "application/xml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
FormatQuery = Annotated[ImportFormat, Query(alias="format", description="csv or tbx")]


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None


async def read_upload(request: Request) -> Upload:
    """The uploaded file: the raw body, or the ``file`` field of a multipart form."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("The form has no file field named 'file'.")
            return Upload(await upload.read(), upload.filename)
    return Upload(await request.body(), None)


UploadDep = Annotated[Upload, Depends(read_upload)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GlossaryOut, responses=ERRORS)
def create_glossary(
    body: GlossaryIn,
    response: Response,
    principal: PrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
) -> GlossaryOut:
    """Create a glossary: terms and how your desk writes them in each language."""
    glossary = domain.create_glossary(db, settings, principal.tenant, body)
    response.headers["Location"] = f"/v1/glossaries/{glossary.id}"
    return domain.glossary_out(glossary)


@router.get("", response_model=GlossaryList, responses=ERRORS)
def list_glossaries(principal: PrincipalDep, db: DatabaseDep) -> GlossaryList:
    """Your glossaries by name, without their entries."""
    return GlossaryList(
        items=[domain.summary_out(g) for g in store.list_glossaries(db, principal.tenant)]
    )


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    response_model=GlossaryImported,
    responses=ERRORS,
    openapi_extra=_FILE_BODY,
)
def import_glossary(
    upload: UploadDep,
    response: Response,
    principal: PrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
    file_format: FormatQuery,
    name: Annotated[str | None, Query(max_length=200)] = None,
    description: Annotated[str | None, Query(max_length=2000)] = None,
    source_language: Annotated[str | None, Query(max_length=35)] = None,
    is_default: bool = False,
) -> GlossaryImported:
    """Create a glossary from a CSV or TBX (v2 or v3 TBX-Basic) file."""
    imported = domain.import_glossary(
        db,
        settings,
        principal.tenant,
        upload.data,
        file_format,
        name=name,
        description=description,
        source_language=source_language,
        is_default=is_default,
        filename=upload.filename,
    )
    response.headers["Location"] = f"/v1/glossaries/{imported.glossary.id}"
    return domain.imported_out(imported)


@router.get("/{glossary_id}", response_model=GlossaryOut, responses=ERRORS)
def get_glossary(glossary_id: str, principal: PrincipalDep, db: DatabaseDep) -> GlossaryOut:
    """A glossary with its entries."""
    return domain.glossary_out(store.get_glossary(db, principal.tenant, glossary_id))


@router.put("/{glossary_id}", response_model=GlossaryOut, responses=ERRORS)
def replace_glossary(
    glossary_id: str,
    body: GlossaryIn,
    principal: PrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
) -> GlossaryOut:
    """Replace a glossary, entries included; jobs already submitted keep the old entries."""
    return domain.glossary_out(
        domain.replace_glossary(db, settings, principal.tenant, glossary_id, body)
    )


@router.put(
    "/{glossary_id}/import",
    response_model=GlossaryImported,
    responses=ERRORS,
    openapi_extra=_FILE_BODY,
)
def reimport_glossary(
    glossary_id: str,
    upload: UploadDep,
    principal: PrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
    file_format: FormatQuery,
) -> GlossaryImported:
    """Replace a glossary's entries with those of a CSV or TBX file."""
    return domain.imported_out(
        domain.reimport_entries(
            db, settings, principal.tenant, glossary_id, upload.data, file_format
        )
    )


@router.delete(
    "/{glossary_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ERRORS,
)
def delete_glossary(glossary_id: str, principal: PrincipalDep, db: DatabaseDep) -> Response:
    """Delete a glossary; jobs already submitted keep the entries they use."""
    store.delete_glossary(db, principal.tenant, glossary_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{glossary_id}/export",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "description": "The glossary as a file.",
            "content": {"text/csv": {}, "application/x-tbx+xml": {}},
        },
    },
)
def export_glossary(
    glossary_id: str,
    principal: PrincipalDep,
    db: DatabaseDep,
    file_format: Annotated[Literal["csv", "tbx"], Query(alias="format")] = "csv",
    tbx_version: Annotated[int, Query(ge=2, le=3, description="TBX v2 (martif) or v3")] = 2,
) -> Response:
    """Download a glossary as CSV or TBX-Basic (v2 by default, v3 with tbx_version=3)."""
    version: TbxVersion = 3 if tbx_version == 3 else 2
    export = domain.export_glossary(db, principal.tenant, glossary_id, file_format, version)
    return Response(
        export.content,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"; '
            f"filename*=UTF-8''{quote(export.full_filename, safe='')}"
        },
    )
