"""The domain: what an identity provider decides, with no Request and no SQL in sight."""
