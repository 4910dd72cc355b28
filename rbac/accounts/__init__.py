"""Staff sign-in hardening: the second factor (django-otp TOTP with recovery codes) for accounts
that can see PHI, their idle-session limit, and the answer to a locked-out sign-in
(django-axes). See docs/security.md, "Accounts, MFA and sessions"."""
