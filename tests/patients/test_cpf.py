import pytest
from django.core.exceptions import ValidationError

from patients.cpf import cpf_mask, cpf_validate


@pytest.mark.parametrize(
    "typed", ["529.982.247-25", "52998224725", " 529 982 247 25 ", "529982247-25"]
)
def test_a_cpf_typed_with_or_without_punctuation_is_stored_as_eleven_digits(typed):
    assert cpf_validate(typed) == "52998224725"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("529.982.247-26", "invalid_check_digits"),
        ("111.111.111-11", "repeated_digits"),
        ("00000000000", "repeated_digits"),
        ("5299822472", "invalid_length"),
        ("529982247255", "invalid_length"),
        ("52998224a25", "invalid_characters"),
        ("", "blank"),
        (None, "blank"),
    ],
)
def test_an_invalid_cpf_is_rejected_with_the_reason(typed, code):
    with pytest.raises(ValidationError) as error:
        cpf_validate(typed)
    assert error.value.code == code


def test_a_masked_cpf_shows_only_the_middle_digits():
    assert cpf_mask("12345678909") == "***.456.789-**"
