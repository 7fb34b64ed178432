"""The staff console and admin API, mounted at `/admin` under their own guard (`idp.admin.guard`).

Every route is listed here with the permission its handler is wrapped with, so a reader sees the
whole admin surface, and who may use it, at once.
"""

from __future__ import annotations

from starlette.routing import Route, Router

from idp.admin import api, pages

__all__ = ["ROUTES", "router"]

# (method, path, handler, permission) — the permission column documents what the guard enforces
# ("session": any signed-in caller); the API rows are also the OpenAPI document (`idp.admin.openapi`).
ROUTES = [
    ("GET", "/login", pages.login_form, None),
    ("POST", "/login", pages.login, None),
    ("POST", "/logout", pages.logout, "session"),
    ("GET", "/", pages.home, "session"),
    # passkeys: the login's second step (after the password), the first passkey when the console
    # requires one, each member's own list ("my security"), and an administrator's removal
    ("GET", "/passkeys/login", pages.passkey_login_form, None),
    ("POST", "/passkeys/login", pages.passkey_login, None),
    ("GET", "/passkeys/first", pages.first_passkey_form, None),
    ("POST", "/passkeys/first", pages.first_passkey, None),
    ("GET", "/passkeys", pages.my_security, "session"),
    ("POST", "/passkeys", pages.passkey_add, "session"),
    ("POST", "/passkeys/remove", pages.passkey_remove, "session"),
    ("GET", "/staff", pages.staff_list, "staff.read"),
    ("POST", "/staff/{staff_id}/passkeys/remove", pages.staff_passkey_remove, "staff.passkeys.remove"),
    ("GET", "/citizens", pages.citizens, "citizens.read"),
    ("GET", "/citizens/{citizen_pk}", pages.citizen, "citizens.read"),
    ("POST", "/citizens/{citizen_pk}/lock", pages.lock, "citizens.lock"),
    ("POST", "/citizens/{citizen_pk}/unlock", pages.unlock, "citizens.lock"),
    ("POST", "/citizens/{citizen_pk}/reset-authenticator", pages.reset_authenticator, "citizens.reset_authenticator"),
    ("POST", "/citizens/{citizen_pk}/end-sessions", pages.end_sessions, "citizens.end_sessions"),
    ("POST", "/citizens/{citizen_pk}/verifications", pages.record_check, "verification.record"),
    ("GET", "/desk", pages.desk, "verification.read"),
    ("GET", "/counter", pages.counter_home, "counter.register"),
    ("POST", "/counter/registrations", pages.counter_register, "counter.register"),
    ("POST", "/counter/disputes", pages.dispute_record, "disputes.record"),
    ("POST", "/citizens/{citizen_pk}/recoveries", pages.recovery_record, "counter.recover"),
    ("POST", "/desk/{request_id}", pages.decide, "verification.decide"),
    ("GET", "/clients", pages.clients, "clients.read"),
    ("POST", "/clients", pages.client_register, "clients.write"),
    ("GET", "/clients/{client_id}", pages.client, "clients.read"),
    ("POST", "/clients/{client_id}", pages.client_edit, "clients.write"),
    ("POST", "/clients/{client_id}/disable", pages.client_disable, "clients.write"),
    ("POST", "/clients/{client_id}/rotate-secret", pages.client_rotate_secret, "clients.write"),
    ("GET", "/clients/{client_id}/secret", pages.client_secret, "clients.write"),
    ("GET", "/keys", pages.keys_list, "keys.read"),
    ("POST", "/keys/rotate", pages.keys_rotate, "keys.rotate"),
    ("GET", "/audit", pages.audit_list, "audit.read"),
    ("GET", "/audit/export", pages.audit_export, "audit.read"),
    # JSON API
    ("GET", "/api/session", api.session, "session"),
    ("GET", "/api/openapi.json", api.openapi, "session"),
    ("GET", "/api/citizens", api.citizens, "citizens.read"),
    ("GET", "/api/citizens/{citizen_pk}", api.citizen, "citizens.read"),
    ("POST", "/api/citizens/{citizen_pk}/lock", api.lock, "citizens.lock"),
    ("POST", "/api/citizens/{citizen_pk}/unlock", api.unlock, "citizens.lock"),
    ("POST", "/api/citizens/{citizen_pk}/reset-authenticator", api.reset_authenticator, "citizens.reset_authenticator"),
    ("POST", "/api/citizens/{citizen_pk}/end-sessions", api.end_sessions, "citizens.end_sessions"),
    ("POST", "/api/citizens/{citizen_pk}/verifications", api.record_check, "verification.record"),
    ("GET", "/api/verifications", api.verifications, "verification.read"),
    ("POST", "/api/counter/registrations", api.counter_register, "counter.register"),
    ("POST", "/api/citizens/{citizen_pk}/recoveries", api.recovery_record, "counter.recover"),
    ("POST", "/api/disputes", api.dispute_record, "disputes.record"),
    ("POST", "/api/verifications/{request_id}/approve", api.approve, "verification.decide"),
    ("POST", "/api/verifications/{request_id}/reject", api.reject, "verification.decide"),
    ("GET", "/api/clients", api.clients, "clients.read"),
    ("POST", "/api/clients", api.client_register, "clients.write"),
    ("GET", "/api/clients/{client_id}", api.client, "clients.read"),
    ("POST", "/api/clients/{client_id}", api.client_edit, "clients.write"),
    ("POST", "/api/clients/{client_id}/disable", api.client_disable, "clients.write"),
    ("POST", "/api/clients/{client_id}/rotate-secret", api.client_rotate_secret, "clients.write"),
    ("GET", "/api/keys", api.keys_list, "keys.read"),
    ("POST", "/api/keys/rotate", api.keys_rotate, "keys.rotate"),
    ("GET", "/api/audit", api.audit_events, "audit.read"),
    ("GET", "/api/audit/verify", api.audit_verify, "audit.read"),
]

router = Router(routes=[Route(path, handler, methods=[method]) for method, path, handler, _ in ROUTES])
