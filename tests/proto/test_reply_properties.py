"""Property tests of the reply parser (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdoctor.proto.reply import ProtocolViolation, Reply, ReplyParser

# Reply text: printable, no CR/LF; a line never ends in a way that changes meaning.
_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=80
)
replies = st.builds(
    Reply,
    code=st.integers(min_value=200, max_value=599),
    lines=st.lists(_text, min_size=1, max_size=8).map(tuple),
)


def feed(chunks: list[bytes]) -> list[Reply]:
    parser = ReplyParser()
    out: list[Reply] = []
    for chunk in chunks:
        parser.receive(chunk)
        while (reply := parser.next_reply()) is not None:
            out.append(reply)
    return out


@given(st.lists(replies, min_size=1, max_size=5))
def test_encode_then_parse_round_trips(generated: list[Reply]) -> None:
    wire = b"".join(r.encode() for r in generated)
    assert feed([wire]) == generated


@given(st.lists(replies, min_size=1, max_size=4), st.data())
def test_any_split_gives_the_same_replies(generated: list[Reply], data: st.DataObject) -> None:
    wire = b"".join(r.encode() for r in generated)
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(wire)), max_size=20)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    assert feed(chunks) == generated


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=300), max_size=10))
def test_garbage_only_ever_raises_protocol_violation(chunks: list[bytes]) -> None:
    parser = ReplyParser(max_line=256, max_lines=16)
    try:
        for chunk in chunks:
            parser.receive(chunk)
            while parser.next_reply() is not None:
                pass
            assert parser.buffered <= 256 + 300
    except ProtocolViolation:
        pass


@given(st.binary(max_size=2000))
def test_buffer_never_exceeds_the_line_limit(data: bytes) -> None:
    parser = ReplyParser(max_line=128)
    try:
        for byte in data:
            parser.receive(bytes([byte]))
            assert parser.buffered <= 129
    except ProtocolViolation:
        assert parser.buffered == 0
