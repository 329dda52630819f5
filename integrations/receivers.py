"""Each event written to the clinic's stream marks its webhooks due, in the same transaction."""

from django.dispatch import receiver

from events.services import event_recorded
from integrations.services import webhook_event_recorded


@receiver(event_recorded, dispatch_uid="integrations_webhooks_due")
def _event_recorded(sender, event, **kwargs) -> None:
    webhook_event_recorded(stream_kind=event.kind)
