"""Crypto and keys in one place: the only importer of jwt, argon2, cryptography, pyotp and qrcode.

The rest of the provider calls named recipes (`sign`, `verify`, `PasswordHasher.verify`,
`new_token`, `digest`) and never touches an algorithm name or a key object itself.
"""
