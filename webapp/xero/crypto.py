"""Tokens at rest: Fernet-encrypted with TOKEN_ENCRYPTION_KEY, never stored or logged in clear."""
from cryptography.fernet import Fernet, InvalidToken

from webapp.xero.errors import XeroAuthError


class TokenCipher:
    """Encrypts and decrypts stored tokens with one Fernet key; an unreadable token is XeroAuthError."""

    def __init__(self, key: str | bytes | None):
        if not key:
            raise RuntimeError("TOKEN_ENCRYPTION_KEY is not set: `flask gen-key` prints one")
        self._fernet = Fernet(key)

    def encrypt(self, value: str | None) -> str | None:
        """Ciphertext for `value` (None stays None)."""
        return self._fernet.encrypt(value.encode()).decode() if value else None

    def decrypt(self, value: str | None) -> str | None:
        """The clear token (None stays None); XeroAuthError when the key cannot read it."""
        if not value:
            return None
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as exc:
            # A rotated encryption key makes stored tokens unreadable: the practice must reconnect.
            raise XeroAuthError("Socket could not read the stored Xero tokens; reconnect to Xero.") from exc
