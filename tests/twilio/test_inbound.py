"""Unit tests of the inbound webhook parser and of Twilio address parsing."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from botkit.twilio.address import Address, parse_address
from botkit.twilio.inbound import (
    MAX_MEDIA,
    InboundMessage,
    Location,
    MalformedWebhook,
    Media,
    parse_inbound_message,
)
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params

WA_USER = f"whatsapp:{USER}"
WA_BOT = f"whatsapp:{BOT_NUMBER}"
SERVICE_SID = "MG" + "a" * 32
MMS_SID = "MM" + "0123456789abcdef" * 2


def mms_params(count: int, **overrides: str) -> dict[str, str]:
    params = inbound_params("look", MessageSid=MMS_SID, NumMedia=str(count))
    for index in range(count):
        params[f"MediaUrl{index}"] = f"https://api.twilio.com/media/ME{index}"
        params[f"MediaContentType{index}"] = "image/jpeg" if index % 2 == 0 else "video/mp4"
    params.update(overrides)
    return params


def malformed(params: dict[str, str]) -> str:
    """The one-line reason parse_inbound_message gives for params."""
    with pytest.raises(MalformedWebhook) as info:
        parse_inbound_message(params)
    reason = str(info.value)
    assert reason and "\n" not in reason
    return reason


# --- parse_address ----------------------------------------------------------------------------


def test_plain_number() -> None:
    address = parse_address("+15550001111")
    assert address == Address(number="+15550001111", prefix="")
    assert not address.is_whatsapp
    assert str(address) == "+15550001111"


def test_whatsapp_prefix_is_kept_apart() -> None:
    address = parse_address("whatsapp:+447700900123")
    assert address.number == "+447700900123"
    assert address.prefix == "whatsapp"
    assert address.is_whatsapp
    assert str(address) == "whatsapp:+447700900123"


def test_whatsapp_prefix_is_case_insensitive_and_normalised() -> None:
    address = parse_address("WhatsApp:+447700900123")
    assert address.prefix == "whatsapp"
    assert str(address) == "whatsapp:+447700900123"


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_address("  +15550001111 ") == Address(number="+15550001111")


def test_short_code_is_accepted_without_prefix() -> None:
    assert parse_address("12345") == Address(number="12345")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("15550001111", "must start with +"),
        ("+1 555 000 1111", "not in E.164 form"),
        ("+1-555-000-1111", "not in E.164 form"),
        ("+1", "is not a phone number"),
        ("+abc", "is not a phone number"),
        ("+999123456", "is not a phone number"),
        ("+1555", "is not a possible phone number"),
        ("sms:+15550001111", "unsupported address scheme 'sms'"),
        ("whatsapp:15550001111", "must start with +"),
        ("whatsapp:12345", "must start with +"),
        ("", "must start with +"),
    ],
)
def test_bad_addresses_raise_with_reason(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_address(raw)
    assert fragment in str(info.value)
    assert repr(raw) in str(info.value)


# --- parse_inbound_message: well-formed ----------------------------------------------------------


def test_sms() -> None:
    params = inbound_params("  hello there ")
    message = parse_inbound_message(params)
    assert isinstance(message, InboundMessage)
    assert message.sid == params["MessageSid"]
    assert message.account_sid == "AC" + "1" * 32
    assert message.channel == "sms"
    assert message.sender == Address(number=USER)
    assert message.recipient == Address(number=BOT_NUMBER)
    assert message.body == "  hello there "
    assert message.text == "hello there"
    assert message.media == ()
    assert message.messaging_service_sid is None
    assert message.whatsapp is None


def test_raw_params_are_retained_including_unknown_ones() -> None:
    params = inbound_params("hi", FromCity="SAN FRANCISCO", OptOutType="STOP", NewThing="x")
    message = parse_inbound_message(params)
    assert message.params == params
    assert message.params["NewThing"] == "x"
    assert message.params["OptOutType"] == "STOP"


def test_params_may_be_a_multidict() -> None:
    params = MultiDict(inbound_params("hi"))
    message = parse_inbound_message(params)
    assert message.body == "hi"
    assert message.params["MessageSid"] == params["MessageSid"]


def test_an_empty_body_is_a_message_without_text() -> None:
    message = parse_inbound_message(inbound_params(""))
    assert message.body == ""
    assert message.media == ()
    assert message.channel == "sms"


@pytest.mark.parametrize("name", ["Body", "NumMedia", "AccountSid", "ApiVersion"])
def test_parameters_twilio_always_sends_are_required(name: str) -> None:
    # A signature does not show where one parameter ends: a request re-cut so that Body
    # becomes part of ApiVersion must not read as a message without text.
    params = inbound_params()
    del params[name]
    assert malformed(params) == f"missing required parameter {name}"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        (
            "ApiVersion",
            "2010-04-01Bodyhi",
            "ApiVersion '2010-04-01Bodyhi' is not Twilio's 2010-04-01",
        ),
        ("ApiVersion", "2008-08-01", "ApiVersion '2008-08-01' is not Twilio's 2010-04-01"),
        (
            "AccountSid",
            "AC" + "1" * 32 + "ApiVersion2010-04-01",
            "AccountSid 'AC11111111111111111111111111111111ApiVer...' is not a Twilio account "
            "SID",
        ),
        ("SmsSid", "SM" + "0" * 32, "SmsSid is not the MessageSid"),
        ("SmsMessageSid", "SM" + "0" * 32, "SmsMessageSid is not the MessageSid"),
    ],
)
def test_boundary_shifted_parameters_are_malformed(name: str, value: str, reason: str) -> None:
    assert malformed(inbound_params(**{name: value})) == reason


def test_mms_media_urls_and_content_types_in_order() -> None:
    message = parse_inbound_message(mms_params(3))
    assert message.sid == MMS_SID
    assert message.channel == "mms"
    assert message.media == (
        Media(url="https://api.twilio.com/media/ME0", content_type="image/jpeg"),
        Media(url="https://api.twilio.com/media/ME1", content_type="video/mp4"),
        Media(url="https://api.twilio.com/media/ME2", content_type="image/jpeg"),
    )


def test_media_without_content_type_defaults_to_octet_stream() -> None:
    params = mms_params(1)
    del params["MediaContentType0"]
    (media,) = parse_inbound_message(params).media
    assert media.content_type == "application/octet-stream"


def test_ten_media_is_the_limit_and_is_accepted() -> None:
    assert len(parse_inbound_message(mms_params(MAX_MEDIA)).media) == MAX_MEDIA


def test_messaging_service_sid() -> None:
    message = parse_inbound_message(inbound_params(MessagingServiceSid=SERVICE_SID))
    assert message.messaging_service_sid == SERVICE_SID


def test_empty_messaging_service_sid_means_none() -> None:
    message = parse_inbound_message(inbound_params(MessagingServiceSid=""))
    assert message.messaging_service_sid is None


def test_whatsapp_message() -> None:
    params = inbound_params(
        "menu",
        From=WA_USER,
        To=WA_BOT,
        ProfileName="Ada Lovelace",
        WaId=USER.lstrip("+"),
        ButtonText="Track order",
        ButtonPayload="track:42",
        OriginalRepliedMessageSid="SM" + "f" * 32,
    )
    message = parse_inbound_message(params)
    assert message.channel == "whatsapp"
    assert message.sender == Address(number=USER, prefix="whatsapp")
    assert message.recipient == Address(number=BOT_NUMBER, prefix="whatsapp")
    assert message.sender.number == USER  # prefix is not part of the number
    assert message.whatsapp is not None
    assert message.whatsapp.profile_name == "Ada Lovelace"
    assert message.whatsapp.wa_id == "15550001111"
    assert message.whatsapp.button_text == "Track order"
    assert message.whatsapp.button_payload == "track:42"
    assert message.whatsapp.replied_to_sid == "SM" + "f" * 32
    assert message.whatsapp.location is None


def test_whatsapp_media_is_still_channel_whatsapp() -> None:
    params = mms_params(1, From=WA_USER, To=WA_BOT)
    message = parse_inbound_message(params)
    assert message.channel == "whatsapp"
    assert len(message.media) == 1


def test_whatsapp_location() -> None:
    params = inbound_params(
        "",
        From=WA_USER,
        To=WA_BOT,
        Latitude="51.5072",
        Longitude="-0.1276",
        Address="Trafalgar Square, London",
        Label="Meeting point",
    )
    message = parse_inbound_message(params)
    assert message.whatsapp is not None
    assert message.whatsapp.location == Location(
        latitude=51.5072,
        longitude=-0.1276,
        address="Trafalgar Square, London",
        label="Meeting point",
    )


def test_whatsapp_location_needs_both_coordinates() -> None:
    params = inbound_params(From=WA_USER, To=WA_BOT, Latitude="51.5")
    message = parse_inbound_message(params)
    assert message.whatsapp is not None
    assert message.whatsapp.location is None


def test_whatsapp_empty_fields_are_none() -> None:
    params = inbound_params(From=WA_USER, To=WA_BOT, ProfileName="", ButtonText="")
    message = parse_inbound_message(params)
    assert message.whatsapp is not None
    assert message.whatsapp.profile_name is None
    assert message.whatsapp.button_text is None


def test_whatsapp_fields_are_ignored_for_sms() -> None:
    message = parse_inbound_message(inbound_params(ProfileName="Ada", Latitude="1", Longitude="2"))
    assert message.channel == "sms"
    assert message.whatsapp is None
    assert message.params["ProfileName"] == "Ada"


def test_short_code_recipient() -> None:
    message = parse_inbound_message(inbound_params(To="12345"))
    assert message.recipient == Address(number="12345")


def test_message_round_trips_through_json() -> None:
    message = parse_inbound_message(
        mms_params(2, From=WA_USER, To=WA_BOT, Latitude="1.5", Longitude="2.5")
    )
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message


# --- parse_inbound_message: malformed ------------------------------------------------------------


@pytest.mark.parametrize("name", ["MessageSid", "From", "To"])
def test_missing_required_parameter(name: str) -> None:
    params = inbound_params()
    del params[name]
    assert malformed(params) == f"missing required parameter {name}"


@pytest.mark.parametrize("name", ["MessageSid", "From", "To"])
def test_blank_required_parameter(name: str) -> None:
    assert malformed(inbound_params(**{name: "  "})) == f"missing required parameter {name}"


@pytest.mark.parametrize(
    "sid",
    [
        "SM123",
        "CA" + "0" * 32,
        "SM" + "g" * 32,
        "SM" + "0" * 33,
        "sm" + "0" * 32,
    ],
)
def test_bad_message_sid(sid: str) -> None:
    assert malformed(inbound_params(MessageSid=sid)) == (
        f"MessageSid {sid!r} is not a Twilio message SID"
    )


@pytest.mark.parametrize("name", ["From", "To"])
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("15550001111", "is not an E.164 number"),
        ("+1 555 000 1111", "is not in E.164 form"),
        ("whatsapp:5550001111", "is not an E.164 number"),
        ("messenger:+15550001111", "unsupported address scheme"),
    ],
)
def test_non_e164_address(name: str, value: str, fragment: str) -> None:
    reason = malformed(inbound_params(**{name: value}))
    assert reason.startswith(f"{name}: ")
    assert fragment in reason
    assert repr(value) in reason


def test_bad_messaging_service_sid() -> None:
    assert malformed(inbound_params(MessagingServiceSid="MG123")) == (
        "MessagingServiceSid 'MG123' is not a Messaging Service SID"
    )


def test_num_media_higher_than_media_sent() -> None:
    params = mms_params(2, NumMedia="3")
    assert malformed(params) == "NumMedia is 3 but 2 MediaUrl parameters were sent"


def test_num_media_lower_than_media_sent() -> None:
    params = mms_params(2, NumMedia="1")
    assert malformed(params) == "NumMedia is 1 but 2 MediaUrl parameters were sent"


def test_media_sent_without_num_media() -> None:
    params = mms_params(1)
    del params["NumMedia"]
    assert malformed(params) == "missing required parameter NumMedia"


def test_media_numbering_with_a_gap() -> None:
    params = mms_params(2)
    params["MediaUrl5"] = params.pop("MediaUrl1")
    assert malformed(params) == "NumMedia is 2 but MediaUrl1 is missing"


def test_empty_media_url() -> None:
    assert malformed(mms_params(1, MediaUrl0="")) == "NumMedia is 1 but MediaUrl0 is missing"


@pytest.mark.parametrize("value", ["two", "-1", "1.0", "0x1", "\u00b2", "\u0661"])
def test_num_media_not_a_number(value: str) -> None:
    assert malformed(inbound_params(NumMedia=value)) == f"NumMedia {value!r} is not a number"


def test_too_many_media() -> None:
    assert malformed(mms_params(MAX_MEDIA + 1)) == (
        f"NumMedia {MAX_MEDIA + 1} exceeds Twilio's limit of {MAX_MEDIA}"
    )


def test_huge_num_media_is_malformed_not_a_crash() -> None:
    # int() refuses more than 4300 digits; that must still be a MalformedWebhook.
    reason = malformed(inbound_params(NumMedia="9" * 5000))
    assert reason.startswith("NumMedia 999999999999")
    assert reason.endswith(f"exceeds Twilio's limit of {MAX_MEDIA}")
    assert len(reason) < 100


def test_num_media_with_leading_zeros() -> None:
    assert len(parse_inbound_message(mms_params(2, NumMedia="002")).media) == 2
    assert malformed(inbound_params(NumMedia="0011")) == (
        f"NumMedia 11 exceeds Twilio's limit of {MAX_MEDIA}"
    )


def test_bad_coordinates() -> None:
    params = inbound_params(From=WA_USER, To=WA_BOT, Latitude="north", Longitude="1")
    assert malformed(params) == "Latitude/Longitude 'north'/'1' are not coordinates"


def test_malformed_webhook_is_a_value_error() -> None:
    assert issubclass(MalformedWebhook, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("STOP", "STOP"), ("start", "START"), (" HELP ", "HELP"), ("", None), ("PAUSE", None)],
)
def test_opt_out_type_says_what_twilios_own_keyword_handling_did(
    raw: str, expected: str | None
) -> None:
    message = parse_inbound_message(inbound_params("stop", OptOutType=raw))
    assert message.opt_out_type == expected
    assert parse_inbound_message(inbound_params("stop")).opt_out_type is None


def test_whatsapp_list_replies_and_referrals_are_modelled() -> None:
    params = inbound_params(
        "Large",
        From="whatsapp:" + USER,
        To="whatsapp:" + BOT_NUMBER,
        ListId="size:l",
        ListTitle="Large",
        ReferralSourceUrl="https://fb.me/ad",
        ReferralSourceType="ad",
        ReferralHeadline="Spring teas",
        ReferralCtwaClid="ARAkLkA",
    )
    whatsapp = parse_inbound_message(params).whatsapp
    assert whatsapp is not None
    assert (whatsapp.list_id, whatsapp.list_title) == ("size:l", "Large")
    assert whatsapp.referral is not None
    assert whatsapp.referral.source_url == "https://fb.me/ad"
    assert (whatsapp.referral.headline, whatsapp.referral.ctwa_clid) == ("Spring teas", "ARAkLkA")
    plain = parse_inbound_message(
        inbound_params("hi", From="whatsapp:" + USER, To="whatsapp:" + BOT_NUMBER)
    )
    assert plain.whatsapp is not None and plain.whatsapp.referral is None
