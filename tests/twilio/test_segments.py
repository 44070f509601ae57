"""The SMS segment calculator on the facts sheet's cases (GSM-7 160/153, UCS-2 70/67)."""

from __future__ import annotations

import pytest

from botkit.twilio.segments import GSM7_EXTENSION, count_segments

EXTENSION_CHARS = "^{}\\[]~|€"
EMOJI = "\U0001f600"  # 😀: outside the BMP, a surrogate pair in UTF-16
CYRILLIC = "ж"  # in the BMP, not in GSM-7


@pytest.mark.parametrize(
    ("body", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a", "GSM-7", 1, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),  # 2 x 153
        ("a" * 307, "GSM-7", 307, 3),
        ("a" * 459, "GSM-7", 459, 3),  # 3 x 153
        ("a" * 460, "GSM-7", 460, 4),
        ("é£$¥@ÄÖÑÜ§¿\n", "GSM-7", 12, 1),  # GSM-7's own accented letters and symbols
    ],
)
def test_gsm7_boundaries(body: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(body)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


@pytest.mark.parametrize("char", list(EXTENSION_CHARS))
def test_gsm7_extension_chars_cost_two_septets(char: str) -> None:
    assert char in GSM7_EXTENSION
    assert count_segments(char).units == 2
    assert count_segments(char).encoding == "GSM-7"
    # 80 of them fill one segment exactly; one more septet pair needs a second one.
    assert count_segments(char * 80).segments == 1
    assert count_segments(char * 80 + "a").segments == 2
    assert count_segments("a" * 159 + char).segments == 2


def test_an_extension_char_is_not_split_between_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit 2 x 153, but the escape pair cannot straddle the
    # boundary: part one holds 152, part two 2 + 151, part three the last one.
    body = "a" * 152 + "€" + "a" * 152
    count = count_segments(body)
    assert count.units == 306
    assert count.segments == 3
    # With the € at the start of part two instead, two parts suffice.
    assert count_segments("a" * 153 + "€" + "a" * 151).segments == 2


@pytest.mark.parametrize(
    ("body", "units", "segments"),
    [
        (CYRILLIC * 70, 70, 1),
        (CYRILLIC * 71, 71, 2),
        (CYRILLIC * 134, 134, 2),  # 2 x 67
        (CYRILLIC * 135, 135, 3),
        (CYRILLIC * 201, 201, 3),  # 3 x 67
        (CYRILLIC * 202, 202, 4),
        ("a" * 69 + CYRILLIC, 70, 1),  # one non-GSM char makes the whole message UCS-2
        ("a" * 70 + CYRILLIC, 71, 2),
    ],
)
def test_ucs2_boundaries(body: str, units: int, segments: int) -> None:
    count = count_segments(body)
    assert (count.encoding, count.units, count.segments) == ("UCS-2", units, segments)


def test_emoji_outside_the_bmp_count_two_units() -> None:
    assert count_segments(EMOJI).units == 2
    assert count_segments(EMOJI).encoding == "UCS-2"
    assert count_segments(EMOJI * 35).segments == 1  # 70 units
    assert count_segments(EMOJI * 36).segments == 2  # 72 units
    assert count_segments("a" * 68 + EMOJI).segments == 1
    assert count_segments("a" * 69 + EMOJI).segments == 2


def test_a_surrogate_pair_is_not_split_between_parts() -> None:
    # 66 + 2 + 66 = 134 units would fit 2 x 67, but the emoji cannot straddle the boundary.
    body = CYRILLIC * 66 + EMOJI + CYRILLIC * 66
    assert count_segments(body).units == 134
    assert count_segments(body).segments == 3


def test_an_emoji_with_modifiers_moves_whole_to_the_next_part() -> None:
    thumbs = "\U0001f44d\U0001f3fd"  # 👍🏽: base + skin tone, 4 units, one character
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: ZWJ sequence, 8 units
    assert count_segments(thumbs).units == 4
    assert count_segments(family).units == 8
    assert count_segments(thumbs * 17).segments == 1  # 68 units
    # 65 units then a 4-unit character: part one keeps 65 and the character opens part two.
    assert count_segments(CYRILLIC * 65 + thumbs + CYRILLIC * 64).segments == 3
    assert count_segments(CYRILLIC * 63 + family + CYRILLIC).segments == 2


def test_gsm7_and_ucs2_single_segment_limits_differ() -> None:
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 159 + CYRILLIC).segments == 3  # 160 UCS-2 units: 67+67+26
