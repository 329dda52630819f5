"""The e-mails accounts sends (invitations, password links), built and sent by a Celery task.

Tasks receive ids and a template name, never an address or a link: the message is built when
it is sent, so a token never waits in a queue and no personal data is in a task's arguments.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.models import ClinicMembership, User
from accounts.passwords import password_link_parts

logger = logging.getLogger(__name__)

ACCOUNT_EMAIL_TASK = "accounts.account_email_send"

# template name: whether the message carries a one-time link to set a password
ACCOUNT_EMAILS = {
    "invitation": True,  # invited to a clinic, no password yet
    "access_granted": False,  # invited with a password already: sign in
    "password_reset": True,  # "forgot my password"
}


def _clinic_origin(*, clinic, origin: str) -> str:
    """`origin`'s scheme and port on the clinic's own host (links go where the person works)."""
    scheme, _sep, rest = origin.partition("://")
    port = rest.rsplit(":", 1)[1] if ":" in rest else ""
    host = clinic.get_primary_domain().domain
    return f"{scheme}://{host}{':' + port if port else ''}"


def account_email_send(
    *, user_id: int, template: str, origin: str, clinic_id: int | None = None
) -> bool:
    """Build and send one account e-mail to `user_id`; False when there is nothing to send."""
    if template not in ACCOUNT_EMAILS:
        raise ValueError(f"Unknown account e-mail {template!r}.")
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        logger.info("Account e-mail %s for user %s skipped: no active user.", template, user_id)
        return False
    clinic = None
    if clinic_id is not None:
        membership = (
            ClinicMembership.objects.select_related("clinic")
            .filter(user=user, clinic_id=clinic_id, is_active=True)
            .first()
        )
        if membership is None:
            logger.info("Invitation of user %s skipped: membership no longer active.", user_id)
            return False
        clinic = membership.clinic
        origin = _clinic_origin(clinic=clinic, origin=origin)
    context = {"user": user, "clinic": clinic, "sign_in_url": f"{origin}{reverse('login')}"}
    if ACCOUNT_EMAILS[template]:
        uidb64, token = password_link_parts(user=user)
        path = reverse("password-set", kwargs={"uidb64": uidb64, "token": token})
        context["link"] = f"{origin}{path}"
        context["days"] = settings.PASSWORD_RESET_TIMEOUT // 86400
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"email/{template}_subject.txt", context).strip()
        body = render_to_string(f"email/{template}.txt", context)
    EmailMessage(subject=subject, body=body, to=[user.email]).send()
    logger.info("Account e-mail %s sent to user %s.", template, user_id)
    return True
