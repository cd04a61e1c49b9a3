"""Text that can't be stored is bad_request before it reaches a batch
(issue 14, item 3): one poisoned frame must not fail everyone's messages."""

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.test import override_settings

from chat.models import Message
from chat.services import message_post, message_post_many
from chat.tests.conftest import joined
from pairup.text import unstorable_reason

UNSTORABLE = ["x\ud800", "\udfffabc", "a\x00b", "\ud83d"]


@pytest.mark.parametrize("text", UNSTORABLE)
def test_unstorable_reason_names_nul_and_lone_surrogates(text):
    assert unstorable_reason(text) is not None


@pytest.mark.parametrize("text", ["plain", "émoji 😀", "中文", "\u200b", ""])
def test_unstorable_reason_passes_any_storable_text(text):
    assert unstorable_reason(text) is None


@pytest.mark.django_db
@pytest.mark.parametrize("text", UNSTORABLE)
def test_message_post_refuses_unstorable_text_as_bad_request(alice, lobby, text):
    with pytest.raises(ValidationError) as refused:
        message_post(author=alice, room=lobby, text=text)

    assert refused.value.code == "bad_request"
    assert not Message.objects.exists()


@pytest.mark.django_db
@override_settings(PAIRUP_CHAT_RATE=(2, 3600))
def test_a_lone_surrogate_in_a_batch_refuses_that_post_and_stores_the_others(
    alice, bob, charlie, lobby
):
    results = message_post_many(
        posts=[
            (alice, lobby, "hello"),
            (charlie, lobby, "x\ud800"),
            (bob, lobby, "hi all"),
            (charlie, lobby, "nul\x00"),
        ]
    )

    assert isinstance(results[0], Message)
    assert isinstance(results[2], Message)
    assert [results[1].code, results[3].code] == ["bad_request", "bad_request"]
    assert list(Message.objects.values_list("author__username", "text")) == [
        ("20000001", "hello"),
        ("20000002", "hi all"),
    ]
    # Each author was counted once against the limit of 2: one more passes,
    # the next is refused. The refused posts counted nothing.
    for author in (alice, bob, charlie):
        message_post(author=author, room=lobby, text="again")
    with pytest.raises(ValidationError) as refused:
        message_post(author=alice, room=lobby, text="one too many")
    assert refused.value.code == "rate_limited"
    message_post(author=charlie, room=lobby, text="charlie's second")


@pytest.mark.django_db(transaction=True)
async def test_a_socket_sending_a_lone_surrogate_gets_bad_request_and_others_post(
    alice, bob
):
    attacker = await joined(alice)
    other = await joined(bob)

    # json.dumps writes the lone surrogate as the escape "\ud800".
    await attacker.send_json_to({"type": "message", "text": "x\ud800"})
    await other.send_json_to({"type": "message", "text": "still here"})

    frames = {}
    while len(frames) < 2:  # the broadcast may come before the error
        frame = await attacker.receive_json_from(timeout=2)
        if frame["type"] in ("error", "message"):
            frames[frame["type"]] = frame
    assert frames["error"]["code"] == "bad_request"
    assert frames["message"]["text"] == "still here"
    assert await sync_to_async(Message.objects.count)() == 1
    await attacker.disconnect()
    await other.disconnect()
