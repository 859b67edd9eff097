"""Object storage: one interface, S3 (boto3) and a local folder, with the same contract.

Every key lives under `tenants/<tenant id>/`; the SHA-256 of every object is computed while it is
written and returned to the caller (who records it) and kept as object metadata. Presigned URLs
are short-lived; on the local folder they are HMAC-signed links served by `LocalStorage.verify`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CHUNK = 1024 * 1024


class ObjectNotFound(Exception):
    pass


class InvalidKey(ValueError):
    pass


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


def tenant_key(tenant_id: uuid.UUID, *parts: str) -> str:
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise InvalidKey(f"invalid key part: {part!r}")
    return "/".join(("tenants", str(tenant_id), *parts))


def key_part(filename: str, default: str = "file") -> str:
    """An uploaded file's name made safe as one part of a key (`tenant_key`): its last path part,
    letters, digits, dots, dashes and underscores only, at most 100 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return cleaned[:100] or default


def _parts(prefix: str) -> list[str]:
    return [part for part in prefix.split("/") if part]


def check_key(key: str, tenant_id: uuid.UUID) -> None:
    if not key.startswith(f"tenants/{tenant_id}/") or ".." in key.split("/"):
        raise InvalidKey("key outside the tenant's space")


class ObjectStorage(Protocol):
    async def put(
        self, tenant_id: uuid.UUID, key: str, source: BinaryIO, content_type: str
    ) -> StoredObject: ...
    async def put_bytes(
        self, tenant_id: uuid.UUID, key: str, data: bytes, content_type: str
    ) -> StoredObject: ...
    def stream(self, tenant_id: uuid.UUID, key: str) -> AsyncIterator[bytes]: ...
    async def head(self, tenant_id: uuid.UUID, key: str) -> StoredObject: ...
    async def delete(self, tenant_id: uuid.UUID, key: str) -> None: ...
    async def keys(self, tenant_id: uuid.UUID, prefix: str) -> list[str]: ...
    async def presign(self, tenant_id: uuid.UUID, key: str, expires_seconds: int = 60) -> str: ...
    async def ping(self) -> None: ...


async def read_all(storage: ObjectStorage, tenant_id: uuid.UUID, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(tenant_id, key)])


def _hash_to_tempfile(source: BinaryIO) -> tuple[tempfile._TemporaryFileWrapper[bytes], str, int]:
    digest = hashlib.sha256()
    size = 0
    spool = tempfile.NamedTemporaryFile(prefix="riscossa-", delete=True)  # noqa: SIM115
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        spool.write(chunk)
    spool.flush()
    spool.seek(0)
    return spool, digest.hexdigest(), size


class LocalStorage:
    """A folder on disk; the embedded default."""

    def __init__(self, root: Path, secret: str, base_url: str = "") -> None:
        self.root = root.resolve()
        self.secret = secret.encode()
        self.base_url = base_url.rstrip("/")

    def _path(self, tenant_id: uuid.UUID, key: str) -> Path:
        check_key(key, tenant_id)
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise InvalidKey("key outside the storage root")
        return path

    async def put(self, tenant_id: uuid.UUID, key: str, source: BinaryIO, content_type: str) -> StoredObject:
        return await asyncio.to_thread(self._put, tenant_id, key, source, content_type)

    def _put(self, tenant_id: uuid.UUID, key: str, source: BinaryIO, content_type: str) -> StoredObject:
        path = self._path(tenant_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        meta = f"{digest.hexdigest()}\n{content_type}\n"
        path.with_name(path.name + ".meta").write_text(meta)
        return StoredObject(key, size, digest.hexdigest(), content_type)

    async def put_bytes(self, tenant_id: uuid.UUID, key: str, data: bytes, content_type: str) -> StoredObject:
        import io

        return await self.put(tenant_id, key, io.BytesIO(data), content_type)

    async def stream(self, tenant_id: uuid.UUID, key: str) -> AsyncIterator[bytes]:
        path = self._path(tenant_id, key)
        if not path.is_file():
            raise ObjectNotFound(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def head(self, tenant_id: uuid.UUID, key: str) -> StoredObject:
        path = self._path(tenant_id, key)
        meta = path.with_name(path.name + ".meta")
        if not path.is_file() or not meta.is_file():
            raise ObjectNotFound(key)
        sha, content_type = meta.read_text().splitlines()[:2]
        return StoredObject(key, path.stat().st_size, sha, content_type)

    async def delete(self, tenant_id: uuid.UUID, key: str) -> None:
        path = self._path(tenant_id, key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".meta").unlink(missing_ok=True)

    async def keys(self, tenant_id: uuid.UUID, prefix: str) -> list[str]:
        """The keys under `tenants/<tenant>/<prefix>` (a key's first parts; "" for all), sorted."""
        top = self.root / tenant_key(tenant_id, *_parts(prefix))

        def walk() -> list[str]:
            files = [p for p in top.rglob("*") if p.is_file()] if top.is_dir() else []
            keep = [p for p in files if not p.name.endswith(".meta") and not p.name.startswith(".upload-")]
            return sorted(p.relative_to(self.root).as_posix() for p in keep)

        return await asyncio.to_thread(walk)

    async def presign(self, tenant_id: uuid.UUID, key: str, expires_seconds: int = 60) -> str:
        self._path(tenant_id, key)
        expires = int(time.time()) + expires_seconds
        query = urlencode({"key": key, "expires": expires, "signature": self._sign(key, expires)})
        return f"{self.base_url}/files?{query}"

    def _sign(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def verify(self, key: str, expires: str, signature: str) -> tuple[uuid.UUID, str]:
        """Check a presigned link; returns (tenant id, key) or raises PermissionError."""
        try:
            expiry = int(expires)
            tenant_id = uuid.UUID(key.split("/")[1])
        except (ValueError, IndexError) as exc:
            raise PermissionError("malformed link") from exc
        if not hmac.compare_digest(self._sign(key, expiry), signature):
            raise PermissionError("bad signature")
        if expiry < time.time():
            raise PermissionError("link expired")
        return tenant_id, key

    async def ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"storage folder not writable: {self.root}")


class S3Storage:
    """Any S3-compatible service through boto3 (SeaweedFS in the tests)."""

    def __init__(
        self, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str = "us-east-1"
    ) -> None:
        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    async def ensure_bucket(self) -> None:
        def create() -> None:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self.client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(create)

    async def put(self, tenant_id: uuid.UUID, key: str, source: BinaryIO, content_type: str) -> StoredObject:
        check_key(key, tenant_id)

        def upload() -> StoredObject:
            spool, sha, size = _hash_to_tempfile(source)
            with spool:
                self.client.upload_fileobj(
                    spool,
                    self.bucket,
                    key,
                    ExtraArgs={"ContentType": content_type, "Metadata": {"sha256": sha}},
                )
            return StoredObject(key, size, sha, content_type)

        return await asyncio.to_thread(upload)

    async def put_bytes(self, tenant_id: uuid.UUID, key: str, data: bytes, content_type: str) -> StoredObject:
        import io

        return await self.put(tenant_id, key, io.BytesIO(data), content_type)

    async def stream(self, tenant_id: uuid.UUID, key: str) -> AsyncIterator[bytes]:
        check_key(key, tenant_id)
        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise ObjectNotFound(key) from exc
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def head(self, tenant_id: uuid.UUID, key: str) -> StoredObject:
        check_key(key, tenant_id)
        try:
            meta = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise ObjectNotFound(key) from exc
        return StoredObject(
            key,
            int(meta["ContentLength"]),
            meta.get("Metadata", {}).get("sha256", ""),
            meta.get("ContentType", "application/octet-stream"),
        )

    async def delete(self, tenant_id: uuid.UUID, key: str) -> None:
        check_key(key, tenant_id)
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    async def keys(self, tenant_id: uuid.UUID, prefix: str) -> list[str]:
        """The keys under `tenants/<tenant>/<prefix>/`, sorted."""
        top = tenant_key(tenant_id, *_parts(prefix)) + "/"

        def listing() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=top)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

        return await asyncio.to_thread(listing)

    async def presign(self, tenant_id: uuid.UUID, key: str, expires_seconds: int = 60) -> str:
        check_key(key, tenant_id)
        url: str = await asyncio.to_thread(
            self.client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=expires_seconds,
        )
        return url

    async def ping(self) -> None:
        await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
