"""Provider events are keyed from the event alone: a resent event without an id is still one event."""

from __future__ import annotations

from anymail.signals import AnymailTrackingEvent

from campaigns.feedback import tracking_event_key


def event(**kw):
    return AnymailTrackingEvent(event_type=kw.pop("event_type", "opened"), **kw)


def test_an_event_without_id_or_time_gets_the_same_key_every_time():
    raw = {"event": "open", "email": "ana@example.com", "sg_message_id": "abc"}
    first, again = event(esp_event=dict(raw)), event(esp_event=dict(raw))
    assert tracking_event_key(first) == tracking_event_key(again)  # no clock in the key
    assert tracking_event_key(event(esp_event={**raw, "sg_message_id": "abd"})) != tracking_event_key(first)
    assert tracking_event_key(event(event_type="clicked", esp_event=raw)) != tracking_event_key(first)


def test_the_providers_own_id_is_the_key_when_there_is_one():
    assert tracking_event_key(event(event_id="evt-1", esp_event={"x": 1})) == "evt-1"
