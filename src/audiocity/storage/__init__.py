"""Object storage: a local folder by default, a GCS bucket when `GCS_BUCKET` is set."""

from __future__ import annotations

from audiocity.config import Settings
from audiocity.storage.base import ObjectInfo, ObjectNotFound, SignedURL, Storage, UploadTarget

__all__ = ["ObjectInfo", "ObjectNotFound", "SignedURL", "Storage", "UploadTarget", "get_storage"]


def get_storage(settings: Settings) -> Storage:
    """The backend the settings ask for; call it once at start-up and share the result."""
    if settings.gcs_bucket:
        # Imported here: google-cloud-storage is slow to import and unused on local storage.
        from audiocity.storage.gcs import GCSStorage

        return GCSStorage(settings.gcs_bucket, settings.gcs_prefix)
    from audiocity.storage.local import LocalStorage

    return LocalStorage(settings.data_dir / "storage", settings.resolved_secret_key(), settings.base_url)
