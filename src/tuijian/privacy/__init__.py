"""Privacy: pseudonymous user ids, encrypted personal data, the audit log, erasure and retention.

* :mod:`~tuijian.privacy.settings`: ``TUIJIAN_PSEUDONYM_KEY``, ``TUIJIAN_PII_KEYS``, ``TUIJIAN_RETENTION_DAYS``.
* :mod:`~tuijian.privacy.pseudonym`: keyed HMAC-SHA256 pseudonyms for user ids (applied by the store on write).
* :mod:`~tuijian.privacy.crypto`: an AES-GCM keyring with key ids; personal fields are stored encrypted.
* :mod:`~tuijian.privacy.audit`: ``audit(store, actor, action, detail)`` and who did what, when.
* :mod:`~tuijian.privacy.erasure`: the right to be forgotten (delete, refit, purge old versions) and retention.

Backup and restore live in :mod:`tuijian.store.backup`. See ``docs/privacy.md``.
"""
