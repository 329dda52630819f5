import pytest


@pytest.fixture(autouse=True)
def _lookup_counters_cleared(request):
    """Patient look-up and sign-in counters (a shared database table) start empty in each test."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    from accounts.models import RateCounter

    RateCounter.objects.all().delete()
    yield
    RateCounter.objects.all().delete()
