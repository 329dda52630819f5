"""Webhook subscriptions of a clinic: partners manage their own, clinic admins all of them."""

import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import PartnerPrincipal
from accounts.permissions import ADMIN, ClinicAccess
from common.api import django_validation_to_api, query_params_validate
from integrations.kinds import SUBSCRIBABLE_KINDS
from integrations.models import DeliveryStatus, NoticeKind, WebhookSubscription
from integrations.selectors import (
    NOTICES_SHOWN,
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_subscription_get,
    webhook_subscriptions_of,
)
from integrations.services import (
    webhook_redeliver,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)

TAGS = ["webhooks"]


class _WebhookAccess(APIView):
    """Clinic admins (every subscription of the clinic) and partners (their own; writes need
    `read_write`). Chain managers have no access."""

    permission_classes = [ClinicAccess]
    allowed_roles = ADMIN
    manager_access = False
    partner_access = "read"  # reads with `read`; POST, PATCH and DELETE need `read_write`

    def partner_client_id(self) -> str | None:
        user = self.request.user
        return user.client_id if isinstance(user, PartnerPrincipal) else None

    def subscription(self, subscription_id: int) -> WebhookSubscription:
        found = webhook_subscription_get(
            subscription_id=subscription_id, partner_client_id=self.partner_client_id()
        )
        if found is None:
            raise Http404
        return found


def _with_codes(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError as the API's 400, keeping each message's code (e.g.
    `too_many_subscriptions`, `address_not_allowed`) for the error body's `code`."""
    if not hasattr(error, "error_dict"):
        return django_validation_to_api(error)
    return serializers.ValidationError(
        {
            field: [
                ErrorDetail(" ".join(item.messages), code=item.code or "invalid") for item in items
            ]
            for field, items in error.error_dict.items()
        }
    )


def _save(write, **kwargs):
    try:
        return write(**kwargs)
    except DjangoValidationError as error:
        raise _with_codes(error) from None


class NoticeSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookNotice"

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=NoticeKind.choices)
    message = serializers.CharField()


class SubscriptionOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookSubscription"

    id = serializers.IntegerField()
    url = serializers.URLField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE_KINDS))
    description = serializers.CharField(allow_blank=True)
    owner = serializers.SerializerMethodField(
        help_text="`clinic`: the clinic's own systems; `partner`: a partner client's."
    )
    partner_client_id = serializers.SerializerMethodField()
    personal_data = serializers.BooleanField(
        help_text="Payloads carry the patient's CPF and name (clinic subscriptions only)."
    )
    is_active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(
        allow_blank=True, help_text="Why it was disabled; empty while active."
    )
    previous_secret_until = serializers.DateTimeField(
        allow_null=True, help_text="Until then requests carry the previous secret's signature too."
    )
    created_at = serializers.DateTimeField()
    notices = serializers.SerializerMethodField(help_text="The latest notices, newest first.")

    def get_owner(self, subscription) -> str:
        return "partner" if subscription.partner_client_id else "clinic"

    def get_partner_client_id(self, subscription) -> str | None:
        return subscription.partner_client_id or None

    @extend_schema_field(NoticeSerializer(many=True))
    def get_notices(self, subscription):
        notices = list(subscription.notices.all())[:NOTICES_SHOWN]
        return NoticeSerializer(notices, many=True).data


class SubscriptionWithSecretSerializer(SubscriptionOutputSerializer):
    class Meta:
        ref_name = "WebhookSubscriptionWithSecret"

    secret = serializers.CharField(
        help_text="Signs every request (README, Webhooks). Shown only in this answer: keep it."
    )


# What the subscriptions service may refuse a URL with (integrations/egress.py and the caps), as
# error codes of the `url` field: listed here so that the API's description names every one.
if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

URL_REFUSAL_CODES: "dict[str, _StrOrPromise]" = {
    "address_not_allowed": _("The URL is not one webhooks may be sent to."),
    "dns": _("The URL's host name does not resolve."),
    "bad_url": _("The URL holds characters a request line cannot carry."),
    "too_many_subscriptions": _("This owner has as many subscriptions here as it may."),
}


class SubscriptionInputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookSubscriptionInput"

    url = serializers.URLField(
        max_length=500,
        help_text="HTTPS; receives a signed POST for each event.",
        error_messages=URL_REFUSAL_CODES,
    )
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_KINDS),
        allow_empty=False,
        max_length=len(SUBSCRIBABLE_KINDS),
        help_text="`appointment.*` subscribes to every appointment event.",
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    personal_data = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Clinic admins only: payloads carry the patient's CPF and name.",
    )


class SubscriptionChangeSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookSubscriptionChange"

    url = serializers.URLField(max_length=500, required=False, error_messages=URL_REFUSAL_CODES)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_KINDS),
        allow_empty=False,
        max_length=len(SUBSCRIBABLE_KINDS),
        required=False,
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    personal_data = serializers.BooleanField(
        required=False,
        help_text="Clinic admins only, on the clinic's own subscriptions: payloads carry the "
        "patient's CPF and name. `true` on a partner's subscription is a 400.",
    )
    is_active = serializers.BooleanField(
        required=False,
        help_text="`true` enables a disabled subscription: its pending events are sent again.",
    )


class WebhookListCreateApi(_WebhookAccess):
    """GET: the clinic's webhook subscriptions (a partner: its own). POST: subscribe a URL."""

    @extend_schema(
        tags=TAGS,
        operation_id="webhooks_list",
        responses={200: SubscriptionOutputSerializer(many=True)},
    )
    def get(self, request):
        subscriptions = webhook_subscriptions_of(partner_client_id=self.partner_client_id())
        return Response(SubscriptionOutputSerializer(subscriptions, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="webhooks_create",
        request=SubscriptionInputSerializer,
        responses={201: SubscriptionWithSecretSerializer},
        description="Events from now on are sent to `url`, signed with the `secret` of this "
        "answer, which is not shown again (rotate it to get a new one).",
    )
    def post(self, request):
        serializer = SubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner_client_id = self.partner_client_id()
        subscription, secret = _save(
            webhook_subscription_create,
            partner_client_id=partner_client_id or "",
            created_by=partner_client_id or request.user.email,
            **serializer.validated_data,
        )
        subscription = self.subscription(subscription.pk)
        data = SubscriptionWithSecretSerializer(subscription).data | {"secret": secret}
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(_WebhookAccess):
    """GET: one subscription with its notices. PATCH: change or enable it. DELETE: remove it."""

    @extend_schema(
        tags=TAGS, operation_id="webhooks_retrieve", responses={200: SubscriptionOutputSerializer}
    )
    def get(self, request, subscription_id: int):
        return Response(SubscriptionOutputSerializer(self.subscription(subscription_id)).data)

    @extend_schema(
        tags=TAGS,
        operation_id="webhooks_partial_update",
        request=SubscriptionChangeSerializer,
        responses={200: SubscriptionOutputSerializer},
    )
    def patch(self, request, subscription_id: int):
        subscription = self.subscription(subscription_id)
        serializer = SubscriptionChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _save(webhook_subscription_update, subscription=subscription, **serializer.validated_data)
        return Response(SubscriptionOutputSerializer(self.subscription(subscription_id)).data)

    @extend_schema(tags=TAGS, operation_id="webhooks_destroy", responses={204: None})
    def delete(self, request, subscription_id: int):
        webhook_subscription_delete(subscription=self.subscription(subscription_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateInputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookRotateInput"

    overlap_hours = serializers.IntegerField(
        min_value=0,
        max_value=168,
        required=False,
        help_text="How long the old secret keeps signing beside the new one (default 24).",
    )


class WebhookSecretRotateApi(_WebhookAccess):
    """POST: a new secret; the old one signs beside it for the overlap."""

    @extend_schema(
        tags=TAGS,
        operation_id="webhooks_rotate_secret",
        request=RotateInputSerializer,
        responses={200: SubscriptionWithSecretSerializer},
        description="During the overlap each request carries two `v1=` signatures in "
        "`Clinico-Signature`, the new secret's first: switch the receiver to the new secret "
        "before `previous_secret_until`.",
    )
    def post(self, request, subscription_id: int):
        serializer = RotateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hours = serializer.validated_data.get("overlap_hours")
        subscription, secret = webhook_secret_rotate(
            subscription=self.subscription(subscription_id),
            overlap=None if hours is None else datetime.timedelta(hours=hours),
        )
        subscription = self.subscription(subscription_id)
        data = SubscriptionWithSecretSerializer(subscription).data | {"secret": secret}
        return Response(data)


class AttemptSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookAttempt"

    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="None: no answer.")
    error = serializers.CharField(
        allow_blank=True,
        help_text="Empty when it was delivered; else what went wrong, in short: `timeout`, "
        "`tls`, `refused`, `reset`, `connection`, `dns`, `address_not_allowed`, `bad_url`, "
        "`too_large`, "
        "`bad_answer` or `http <status>`.",
    )
    duration_ms = serializers.IntegerField()
    manual = serializers.BooleanField(help_text="A redelivery someone asked for.")


class DeliveryOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookDelivery"

    id = serializers.IntegerField()
    event_id = serializers.SerializerMethodField(help_text="The `id` the receiver was sent.")
    kind = serializers.CharField()
    ticket_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(help_text="While pending.")
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(
        allow_blank=True, help_text="The last attempt's `error` (see the log's entries)."
    )
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    log = AttemptSerializer(many=True, help_text="Every attempt, oldest first.")

    def get_event_id(self, delivery) -> str:
        return delivery.payload["id"]


class DeliveryQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)


class WebhookDeliveryListApi(_WebhookAccess):
    """GET: the delivery log of a subscription (latest 100 events)."""

    @extend_schema(
        tags=TAGS,
        operation_id="webhooks_deliveries_list",
        parameters=[DeliveryQuerySerializer],
        responses={200: DeliveryOutputSerializer(many=True)},
    )
    def get(self, request, subscription_id: int):
        query = query_params_validate(request=request, serializer_class=DeliveryQuerySerializer)
        deliveries = webhook_delivery_list(
            subscription=self.subscription(subscription_id), status=query.get("status")
        )
        return Response(DeliveryOutputSerializer(deliveries, many=True).data)


class WebhookRedeliverApi(_WebhookAccess):
    """POST: send one event of the log again (delivered or failed), with a fresh retry window."""

    @extend_schema(
        tags=TAGS,
        operation_id="webhooks_redeliver",
        request=None,
        responses={202: DeliveryOutputSerializer},
    )
    def post(self, request, subscription_id: int, delivery_id: int):
        delivery = webhook_delivery_get(
            subscription=self.subscription(subscription_id), delivery_id=delivery_id
        )
        if delivery is None:
            raise Http404
        delivery = _save(webhook_redeliver, delivery=delivery)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("webhooks/", WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<int:subscription_id>/", WebhookDetailApi.as_view(), name="webhook"),
    path(
        "webhooks/<int:subscription_id>/rotate-secret/",
        WebhookSecretRotateApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhooks/<int:subscription_id>/deliveries/",
        WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver/",
        WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
]
