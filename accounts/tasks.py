"""Celery tasks of accounts: e-mails, sent with retries (ids in the arguments, no addresses)."""

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from accounts.mail import ACCOUNT_EMAIL_TASK, account_email_send


@shared_task(
    name=ACCOUNT_EMAIL_TASK,
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    ignore_result=True,
)
def account_email_send_task(
    user_id: int, template: str, origin: str, clinic_id: int | None = None
) -> bool:
    """Send one account e-mail (invitation, password link) to the user `user_id`."""
    return account_email_send(
        user_id=user_id, template=template, origin=origin, clinic_id=clinic_id
    )
