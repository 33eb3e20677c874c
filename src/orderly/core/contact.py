"""Customer contact details: e-mail syntax and phone numbers in E.164."""

import email_validator
import phonenumbers


class InvalidContact(ValueError):
    pass


def normalize_email(raw: str) -> str:
    try:
        return email_validator.validate_email(raw, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise InvalidContact(f"Not a valid e-mail address: {exc}") from None


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form; a number without a country code is read in ``default_region``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidContact("Not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("Not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
