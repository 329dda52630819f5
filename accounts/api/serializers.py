"""The token shapes both hosts answer with, and the refresh token they take."""

from rest_framework import serializers
from rest_framework_simplejwt.tokens import Token

from accounts.models import ClinicRole, PartnerScope
from accounts.tokens import ScopedRefreshToken, token_lifetime_seconds


class TokenScopeSerializer(serializers.Serializer):
    class Meta:
        ref_name = "TokenScope"

    scope = serializers.ChoiceField(choices=["clinic", "chain", "partner"])
    clinic = serializers.CharField(
        allow_null=True, help_text="Clinic tokens: the clinic (slug) where the token works."
    )
    role = serializers.ChoiceField(
        choices=ClinicRole.choices, allow_null=True, help_text="Clinic tokens: role when issued."
    )
    chains = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Manager tokens: ids of the chains managed when issued.",
    )
    clinics = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Partner tokens: the clinics (slugs) the token works on.",
    )
    access = serializers.ChoiceField(
        choices=PartnerScope.choices, allow_null=True, help_text="Partner tokens: read or write."
    )


def token_scope_data(token: Token) -> dict:
    """What `TokenScopeSerializer` shows of a token's claims."""
    return {
        "scope": token["scope"],
        "clinic": token.get("clinic"),
        "role": token.get("role"),
        "chains": token.get("chains"),
        "clinics": token.get("clinics"),
        "access": token.get("access"),
    }


class TokenPairSerializer(serializers.Serializer):
    class Meta:
        ref_name = "TokenPair"

    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Exchange at `auth/token/refresh/` on this host.")
    token_type = serializers.CharField(default="Bearer")
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds.")
    scope = TokenScopeSerializer()


def token_pair_data(refresh: ScopedRefreshToken) -> dict:
    """A refresh token and its access token, as `TokenPairSerializer` shows them."""
    access = refresh.access_token
    return {
        "access": str(access),
        "refresh": str(refresh),
        "token_type": "Bearer",
        "access_expires_in": token_lifetime_seconds(access),
        "refresh_expires_in": token_lifetime_seconds(refresh),
        "scope": token_scope_data(refresh),
    }


class RefreshInputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "RefreshInput"

    refresh = serializers.CharField()
