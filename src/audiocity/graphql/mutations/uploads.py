"""Admin audio file mutations."""

from __future__ import annotations

import tempfile
from pathlib import Path

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError, user_error
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import decode_id
from audiocity.graphql.types.audiobook import Audiobook, AudioFile
from audiocity.graphql.types.job import Job
from audiocity.services import audio_files, catalog
from audiocity.services.errors import ErrorCode, ServiceError

COPY_BLOCK = 1024 * 1024


@strawberry.type
class UploadAudioFilePayload:
    audio_file: AudioFile | None = None
    job: Job | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AudioFilesPayload:
    audiobook: Audiobook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class StartTranscriptionPayload:
    job: Job | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _spool(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy the upload to a temp file in blocks, refusing anything over `limit` bytes."""
    written = 0
    with target.open("wb") as out:
        while block := await upload.read(COPY_BLOCK):
            written += len(block)
            if written > limit:
                raise ServiceError(
                    ErrorCode.FILE_TOO_LARGE,
                    f"Files sent inline are limited to {limit} bytes; use startUpload for larger ones.",
                    "file",
                )
            out.write(block)
    if written == 0:
        raise ServiceError(ErrorCode.NOT_AUDIO, "The file is empty.", "file")


@strawberry.type
class UploadMutations:
    @strawberry.mutation(description="Upload a small audio file inline (multipart) and append it to the book (admin).")
    async def upload_audio_file(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, file: Upload
    ) -> UploadAudioFilePayload:
        await require_admin(info)
        res = info.context.resources
        book_id = decode_id(audiobook_id, "Audiobook")
        if not isinstance(file, UploadFile):
            return UploadAudioFilePayload(
                errors=[UserError(code=ErrorCode.INVALID, field="file", message="Send the file as multipart.")]
            )
        try:
            with tempfile.TemporaryDirectory(prefix="audiocity-upload-") as tmp:
                source = Path(tmp) / "upload"
                await _spool(file, source, res.settings.max_inline_upload_bytes)
                async with info.context.session() as s:
                    audio_file, job = await audio_files.add_audio_file(
                        s, res.storage, res.events, audiobook_id=book_id,
                        file_name=file.filename or "audio", content_type=file.content_type, source=source,
                    )  # fmt: skip
        except ServiceError as exc:
            return UploadAudioFilePayload(errors=[user_error(exc)])
        return UploadAudioFilePayload(audio_file=AudioFile.from_model(audio_file), job=Job.from_model(job))

    @strawberry.mutation(description="Set the play order: `fileIds` must list each of the book's files once.")
    async def reorder_audio_files(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, file_ids: list[strawberry.ID]
    ) -> AudioFilesPayload:
        await require_admin(info)
        res = info.context.resources
        book_id = decode_id(audiobook_id, "Audiobook")
        try:
            async with info.context.session() as s:
                await audio_files.reorder_audio_files(
                    s, res.events, book_id, [decode_id(i, "AudioFile") for i in file_ids]
                )
                book = await catalog.get_audiobook(s, book_id, include_drafts=True)
        except ServiceError as exc:
            return AudioFilesPayload(errors=[user_error(exc)])
        return AudioFilesPayload(audiobook=Audiobook.from_model(book))

    @strawberry.mutation(description="Remove an audio file and its stored object (admin).")
    async def delete_audio_file(self, info: Info[Context, None], id: strawberry.ID) -> AudioFilesPayload:
        await require_admin(info)
        res = info.context.resources
        try:
            async with info.context.session() as s:
                book = await audio_files.delete_audio_file(s, res.storage, res.events, decode_id(id, "AudioFile"))
        except ServiceError as exc:
            return AudioFilesPayload(errors=[user_error(exc)])
        return AudioFilesPayload(audiobook=Audiobook.from_model(book))

    @strawberry.mutation(description="Queue transcription again, e.g. after a failure (admin).")
    async def start_transcription(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, force: bool = False
    ) -> StartTranscriptionPayload:
        await require_admin(info)
        res = info.context.resources
        try:
            async with info.context.session() as s:
                job = await audio_files.start_transcription(
                    s, res.events, decode_id(audiobook_id, "Audiobook"), force=force
                )
        except ServiceError as exc:
            return StartTranscriptionPayload(errors=[user_error(exc)])
        return StartTranscriptionPayload(job=Job.from_model(job))
