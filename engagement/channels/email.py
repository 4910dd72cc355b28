"""Email through Django's email framework (EMAIL_BACKEND: SMTP, anymail, console, locmem)."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from engagement.channels.base import (
    Outbound,
    PermanentProviderError,
    ProviderResult,
    TransientProviderError,
    Transport,
)


class DjangoEmailTransport(Transport):
    provider = "email"

    def send(self, outbound: Outbound) -> ProviderResult:
        email = EmailMultiAlternatives(
            subject=outbound.subject,
            body=outbound.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[outbound.to],
            headers={"X-CareOS-Message": outbound.message_ref, **outbound.headers},
        )
        if outbound.html_body:
            email.attach_alternative(outbound.html_body, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentProviderError(
                "recipient refused", code="recipient_refused", undeliverable=True
            ) from exc
        except smtplib.SMTPResponseException as exc:
            reason = f"smtp {exc.smtp_code}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentProviderError(reason, code=str(exc.smtp_code)) from exc
            raise TransientProviderError(reason, code=str(exc.smtp_code)) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientProviderError(f"smtp unavailable: {type(exc).__name__}") from exc
        return ProviderResult(provider=self.provider, provider_message_id=outbound.message_ref)
