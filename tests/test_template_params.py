"""What an agent fills in for each kind of template Meta has (issue #16), read from
Meta's definitions, and the media id the sender puts in a media header."""

from __future__ import annotations

from crm.whatsapp.outbound import message_payload
from crm.whatsapp.template_params import media_header, parameters

NAMED = {"name": "welcome", "language": "pt_BR", "parameter_format": "NAMED", "components": [
    {"type": "HEADER", "format": "TEXT", "text": "Olá {{first_name}}",
     "example": {"header_text_named_params": [{"param_name": "first_name",
                                               "example": "Ana"}]}},
    {"type": "BODY", "text": "Seu passeio {{trip}} é {{day}}; {{trip}} confirmado.",
     "example": {"body_text_named_params": [{"param_name": "trip", "example": "caiaque"},
                                            {"param_name": "day", "example": "sábado"}]}},
    {"type": "BUTTONS", "buttons": [
        {"type": "COPY_CODE", "example": ["KAYAK10"]},
        {"type": "URL", "text": "Site", "url": "https://example.com/about"},
        {"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}]}]}


def test_named_parameters_examples_and_buttons() -> None:
    found, unsupported = parameters(NAMED)
    assert unsupported == []
    assert found == [
        {"component": "header", "type": "text", "name": "first_name", "example": "Ana"},
        {"component": "body", "type": "text", "name": "trip", "example": "caiaque"},
        {"component": "body", "type": "text", "name": "day", "example": "sábado"},
        {"component": "button", "index": 0, "sub_type": "copy_code", "type": "coupon_code",
         "text": None, "example": "KAYAK10"}]  # a URL without a variable takes nothing


def test_location_and_document_headers_and_what_is_not_supported() -> None:
    location = {"components": [{"type": "HEADER", "format": "LOCATION"},
                               {"type": "BODY", "text": "We are here."}]}
    assert parameters(location) == ([{"component": "header", "type": "location"}], [])
    document = {"components": [{"type": "HEADER", "format": "DOCUMENT"}]}
    assert parameters(document)[0] == [{"component": "header", "type": "document",
                                        "example": None}]
    assert media_header(document) == "document" and media_header(location) is None
    carousel = {"components": [{"type": "BODY", "text": "Pick one"},
                               {"type": "CAROUSEL", "cards": []},
                               {"type": "BUTTONS", "buttons": [{"type": "CATALOG"}]}]}
    assert parameters(carousel)[1] == ["carousel", "catalog button"]


def test_the_sender_puts_the_uploaded_id_in_the_header() -> None:
    data = {"message_type": "template", "phone": "85291234567", "message_id": "m1",
            "media": {"sha256": "abc", "mime_type": "application/pdf",
                      "filename": "ticket.pdf"},
            "template": {"name": "ticket", "language": "en", "components": [
                {"type": "header", "parameters": [{"type": "document", "document": {}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]}}
    payload = message_payload(data, media_id="4242")
    assert payload["template"]["components"] == [
        {"type": "header", "parameters": [
            {"type": "document", "document": {"id": "4242", "filename": "ticket.pdf"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
    # The queued event itself is left as it was (a retry uploads again).
    assert data["template"]["components"][0]["parameters"][0]["document"] == {}
