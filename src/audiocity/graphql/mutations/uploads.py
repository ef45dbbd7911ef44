"""Admin audio file mutations: inline and direct-to-storage uploads, play order, deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from audiocity.graphql.context import Context
from audiocity.graphql.errors import UserError, user_error
from audiocity.graphql.mutation import run
from audiocity.graphql.permissions import require_admin
from audiocity.graphql.relay import input_id
from audiocity.graphql.types.audiobook import Audiobook, AudioFile
from audiocity.graphql.types.job import Job
from audiocity.graphql.types.upload import UploadTarget
from audiocity.services import audio_files, catalog, uploads
from audiocity.services.audio_files import AudioLimits
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


@strawberry.input(description="The file about to be uploaded; `md5` / `crc32c` (hex or base64) are checked at the end.")
class StartUploadInput:
    audiobook_id: strawberry.ID
    file_name: str
    content_type: str
    size_bytes: float = strawberry.field(description="Exact size in bytes (a Float: files can exceed 2^31).")
    md5: str | None = None
    crc32c: str | None = None


@strawberry.type
class StartUploadPayload:
    upload: UploadTarget | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CompleteUploadPayload:
    audio_file: AudioFile | None = None
    job: Job | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CancelUploadPayload:
    cancelled: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _blocks(upload: UploadFile) -> AsyncIterator[bytes]:
    while block := await upload.read(COPY_BLOCK):
        yield block


def _too_large(limit: int) -> UserError:
    return UserError(
        code=ErrorCode.FILE_TOO_LARGE,
        field="file",
        message=f"Files sent inline are limited to {limit} bytes; use startUpload for larger ones.",
    )


@strawberry.type
class UploadMutations:
    @strawberry.mutation(description="Upload a small audio file inline (multipart) and append it to the book (admin).")
    async def upload_audio_file(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, file: Upload
    ) -> UploadAudioFilePayload:
        await require_admin(info)
        res = info.context.resources
        if not isinstance(file, UploadFile):
            return UploadAudioFilePayload(
                errors=[UserError(code=ErrorCode.INVALID, field="file", message="Send the file as multipart.")]
            )
        limit = res.settings.max_inline_upload_bytes
        if file.size is not None and file.size > limit:
            return UploadAudioFilePayload(errors=[_too_large(limit)])

        async def work(s: AsyncSession) -> UploadAudioFilePayload:
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            audio_file, job = await audio_files.store_audio_file(
                s, res.storage, res.events, audiobook_id=book_id,
                file_name=file.filename or "audio", content_type=file.content_type,
                chunks=_blocks(file), max_bytes=limit, limits=AudioLimits.from_settings(res.settings),
            )  # fmt: skip
            return UploadAudioFilePayload(audio_file=AudioFile.from_model(audio_file), job=Job.from_model(job))

        return await run(info.context, UploadAudioFilePayload, work)

    @strawberry.mutation(
        description="Open a resumable upload straight to storage for one audio file (admin); see `UploadTarget`."
    )
    async def start_upload(self, info: Info[Context, None], input: StartUploadInput) -> StartUploadPayload:
        user = await require_admin(info)
        res = info.context.resources
        if not float(input.size_bytes).is_integer():
            return StartUploadPayload(
                errors=[
                    UserError(code=ErrorCode.INVALID, field="sizeBytes", message="sizeBytes must be a whole number.")
                ]
            )

        async def work(s: AsyncSession) -> StartUploadPayload:
            request = uploads.UploadRequest(
                audiobook_id=input_id(input.audiobook_id, "Audiobook", "audiobookId"),
                file_name=input.file_name,
                content_type=input.content_type,
                size_bytes=int(input.size_bytes),
                md5=input.md5,
                crc32c=input.crc32c,
            )
            started = await uploads.start_upload(
                s, res.storage, request, user_id=user.id, limits=AudioLimits.from_settings(res.settings),
                ttl_seconds=res.settings.upload_session_ttl_seconds,
            )  # fmt: skip
            return StartUploadPayload(
                upload=UploadTarget.build(started.upload, started.target, res.settings.upload_chunk_bytes)
            )

        return await run(info.context, StartUploadPayload, work)

    @strawberry.mutation(
        description=(
            "Check an upload's bytes (size, checksums, that it is complete, playable audio) and add it as the "
            "book's last file, queuing transcription (admin). A refused upload is deleted."
        )
    )
    async def complete_upload(self, info: Info[Context, None], upload_id: strawberry.ID) -> CompleteUploadPayload:
        user = await require_admin(info)
        res = info.context.resources

        async def work(s: AsyncSession) -> CompleteUploadPayload:
            done = await uploads.complete_upload(
                s, res.storage, res.events, upload_id=input_id(upload_id, "Upload", "uploadId"), user_id=user.id,
                limits=AudioLimits.from_settings(res.settings),
            )  # fmt: skip
            if done.error is not None or done.audio_file is None:  # the refusal is recorded, so this commits
                error = done.error or ServiceError(ErrorCode.INVALID, "The upload could not be completed.", "uploadId")
                return CompleteUploadPayload(errors=[user_error(error)])
            return CompleteUploadPayload(
                audio_file=AudioFile.from_model(done.audio_file),
                job=None if done.job is None else Job.from_model(done.job),
            )

        return await run(info.context, CompleteUploadPayload, work)

    @strawberry.mutation(description="Give up on an upload and delete whatever it stored (admin).")
    async def cancel_upload(self, info: Info[Context, None], upload_id: strawberry.ID) -> CancelUploadPayload:
        user = await require_admin(info)
        res = info.context.resources

        async def work(s: AsyncSession) -> CancelUploadPayload:
            await uploads.cancel_upload(
                s, res.storage, upload_id=input_id(upload_id, "Upload", "uploadId"), user_id=user.id
            )
            return CancelUploadPayload(cancelled=True)

        return await run(info.context, CancelUploadPayload, work)

    @strawberry.mutation(description="Set the play order: `fileIds` must list each of the book's files once.")
    async def reorder_audio_files(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, file_ids: list[strawberry.ID]
    ) -> AudioFilesPayload:
        await require_admin(info)
        res = info.context.resources

        async def work(s: AsyncSession) -> AudioFilesPayload:
            book_id = input_id(audiobook_id, "Audiobook", "audiobookId")
            file_uuids = [input_id(i, "AudioFile", "fileIds") for i in file_ids]
            await audio_files.reorder_audio_files(s, res.events, book_id, file_uuids)
            book = await catalog.get_audiobook(s, book_id, include_drafts=True)
            return AudioFilesPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudioFilesPayload, work)

    @strawberry.mutation(description="Remove an audio file and its stored object (admin).")
    async def delete_audio_file(self, info: Info[Context, None], id: strawberry.ID) -> AudioFilesPayload:
        await require_admin(info)
        res = info.context.resources

        async def work(s: AsyncSession) -> AudioFilesPayload:
            book = await audio_files.delete_audio_file(s, res.storage, res.events, input_id(id, "AudioFile", "id"))
            return AudioFilesPayload(audiobook=Audiobook.from_model(book))

        return await run(info.context, AudioFilesPayload, work)

    @strawberry.mutation(description="Queue transcription again, e.g. after a failure (admin).")
    async def start_transcription(
        self, info: Info[Context, None], audiobook_id: strawberry.ID, force: bool = False
    ) -> StartTranscriptionPayload:
        await require_admin(info)
        res = info.context.resources

        async def work(s: AsyncSession) -> StartTranscriptionPayload:
            job = await audio_files.start_transcription(
                s, res.events, input_id(audiobook_id, "Audiobook", "audiobookId"), force=force
            )
            return StartTranscriptionPayload(job=Job.from_model(job))

        return await run(info.context, StartTranscriptionPayload, work)
