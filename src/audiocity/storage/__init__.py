"""Object storage: a local folder by default, a GCS bucket when `GCS_BUCKET` is set."""

from __future__ import annotations

from audiocity.config import Settings
from audiocity.storage.base import LinkUnavailable, ObjectInfo, ObjectNotFound, SignedURL, Storage, UploadTarget

__all__ = ["LinkUnavailable", "ObjectInfo", "ObjectNotFound", "SignedURL", "Storage", "UploadTarget", "get_storage"]


def get_storage(settings: Settings) -> Storage:
    """The backend the settings ask for; call it once at start-up and share the result."""
    if settings.gcs_bucket:
        # Imported here: google-cloud-storage is slow to import and unused on local storage.
        from audiocity.storage.gcs import AppLinks, GCSStorage

        app_links = None
        if settings.download_mode == "proxy":
            app_links = AppLinks(settings.resolved_secret_key(), settings.base_url)
        return GCSStorage(
            settings.gcs_bucket,
            settings.gcs_prefix,
            signer_email=settings.gcs_signer_email,
            iam_endpoint=settings.gcs_iam_endpoint,
            app_links=app_links,
        )
    from audiocity.storage.local import LocalStorage

    return LocalStorage(settings.data_dir / "storage", settings.resolved_secret_key(), settings.base_url)
