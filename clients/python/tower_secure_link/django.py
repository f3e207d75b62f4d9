"""A Django file storage whose URLs for private files are signed links.

    STORAGES = {"default": {"BACKEND": "tower_secure_link.django.SecureLinkStorage"}}
    SECURE_LINK_KEY = "...at least 32 bytes..."
    SECURE_LINK_KEY_ID = "1"
    SECURE_LINK_PRIVATE_PREFIXES = ["private/"]   # empty or unset: every file is private
    SECURE_LINK_TTL = 3600

Only this module needs Django; the rest of the package never imports it.
"""

from __future__ import annotations

from typing import Iterable, Optional, Union
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

from . import _codec
from ._signer import Signer

_UNSET = object()


@deconstructible(path="tower_secure_link.django.SecureLinkStorage")
class SecureLinkStorage(FileSystemStorage):
    """FileSystemStorage that signs `url(name)` for names under the private prefixes.

    Constructor arguments override the settings; settings are read when a URL is made, so
    `override_settings` in tests takes effect.
    """

    def __init__(
        self,
        location=None,
        base_url=None,
        file_permissions_mode=None,
        directory_permissions_mode=None,
        *,
        key: Union[bytes, str, None] = None,
        key_id: Optional[str] = None,
        private_prefixes: Optional[Iterable[str]] = None,
        ttl: Optional[int] = None,
        param_prefix: Optional[str] = None,
    ):
        super().__init__(
            location=location,
            base_url=base_url,
            file_permissions_mode=file_permissions_mode,
            directory_permissions_mode=directory_permissions_mode,
        )
        self._key = key
        self._key_id = key_id
        self._private_prefixes = None if private_prefixes is None else list(private_prefixes)
        self._ttl = ttl
        self._param_prefix = param_prefix

    def _setting(self, own, name: str, default=_UNSET):
        if own is not None:
            return own
        value = getattr(settings, name, default)
        if value is _UNSET:
            raise ImproperlyConfigured("SecureLinkStorage needs settings.{}".format(name))
        return value

    def signer(self) -> Signer:
        return Signer(
            self._setting(self._key, "SECURE_LINK_KEY"),
            self._setting(self._key_id, "SECURE_LINK_KEY_ID"),
            self._setting(self._param_prefix, "SECURE_LINK_PARAM_PREFIX", "sl_"),
        )

    def is_private(self, name: str) -> bool:
        prefixes = self._setting(self._private_prefixes, "SECURE_LINK_PRIVATE_PREFIXES", None)
        if not prefixes:
            return True
        name = name.replace("\\", "/").lstrip("/")
        return any(name.startswith(p.lstrip("/")) for p in prefixes)

    def url(self, name, ttl: Optional[int] = None):
        plain = super().url(name)
        if name is None or not self.is_private(name):
            return plain
        parts = urlsplit(plain)
        try:
            decoded = _codec.canonical_from_raw(parts.path).decoded()
        except _codec.PathError as err:
            raise ValueError("cannot sign {!r}: {}".format(name, err)) from None
        ttl = ttl if ttl is not None else self._setting(self._ttl, "SECURE_LINK_TTL", 3600)
        link = self.signer().sign(decoded, expires_in=ttl, query=parts.query)
        path, _, query = link.partition("?")
        return urlunsplit((parts.scheme, parts.netloc, path, query, ""))
