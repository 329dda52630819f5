from typing import Any, ClassVar, Self

from django.db import models
from django.http import HttpRequest

def __getattr__(name: str) -> Any: ...

class TenantMixin(models.Model):
    auto_drop_schema: ClassVar[bool]
    auto_create_schema: ClassVar[bool]
    clone_mode: ClassVar[str]
    schema_name = models.CharField(max_length=63, unique=True, db_index=True)
    # Set per request by the host middleware; None on an instance read from the database.
    domain_url: str | None
    domain_subfolder: str | None

    class Meta:
        abstract = True

    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: object, exc_val: object, exc_tb: object) -> None: ...
    def save(self, verbosity: int = 1, *args: Any, **kwargs: Any) -> None: ...
    def activate(self) -> None: ...
    @classmethod
    def deactivate(cls) -> None: ...
    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool | None: ...
    def get_primary_domain(self) -> DomainMixin | None: ...
    def reverse(self, request: HttpRequest, view_name: str) -> str: ...

class DomainMixin(models.Model):
    domain = models.CharField(max_length=253, unique=True, db_index=True)
    tenant = models.ForeignKey(TenantMixin, related_name="domains", on_delete=models.CASCADE)
    is_primary = models.BooleanField(default=True, db_index=True)

    class Meta:
        abstract = True
