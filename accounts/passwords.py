"""One-time links to set a password: invitations and "forgot my password".

Django's token generator: the token is a keyed hash of the user's id, password hash, last
sign-in and e-mail with a timestamp, so it stops working once the password is set (or the user
signs in) and after PASSWORD_RESET_TIMEOUT; nothing is stored.
"""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User


class PasswordLinkTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "clinico.accounts.password-link"


password_link_tokens = PasswordLinkTokenGenerator()


def password_link_parts(*, user: User) -> tuple[str, str]:
    """The (uidb64, token) pair of a new password link for `user`."""
    return urlsafe_base64_encode(force_bytes(user.pk)), password_link_tokens.make_token(user)


def password_link_user(*, uidb64: str, token: str) -> User | None:
    """The active user a password link was made for, while the link is still good; else None."""
    try:
        user_id = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < user_id < 2**63:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not password_link_tokens.check_token(user, token):
        return None
    return user
