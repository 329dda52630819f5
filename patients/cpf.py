"""CPF handling: normalisation to 11 digits, validation with validate-docbr, masking."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from validate_docbr import CPF

_SEPARATORS = re.compile(r"[.\-\s]")
_validator = CPF()


def cpf_normalize(value: str) -> str:
    """The CPF without its punctuation and spaces (not yet validated)."""
    return _SEPARATORS.sub("", value or "")


def cpf_validate(value: str | None) -> str:
    """The CPF as 11 digits, or a ValidationError that says what is wrong with it."""
    digits = cpf_normalize(value or "")
    if not digits:
        raise ValidationError(_("Enter the patient's CPF."), code="blank")
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(
            _("A CPF has only digits (dots and a hyphen are allowed, e.g. 529.982.247-25)."),
            code="invalid_characters",
        )
    if len(digits) != 11:
        raise ValidationError(
            _("A CPF has 11 digits; this one has %(count)s.") % {"count": len(digits)},
            code="invalid_length",
        )
    if len(set(digits)) == 1:
        raise ValidationError(
            _("A CPF of one repeated digit is not a valid CPF."), code="repeated_digits"
        )
    if not _validator.validate(digits):
        raise ValidationError(
            _("The CPF's check digits do not match; check the number typed."),
            code="invalid_check_digits",
        )
    return digits


def cpf_mask(cpf: str | None) -> str:
    """`***.456.789-**`: enough to tell patients apart, not enough to use the number."""
    if not cpf or len(cpf) != 11:
        return "***.***.***-**"
    return f"***.{cpf[3:6]}.{cpf[6:9]}-**"
