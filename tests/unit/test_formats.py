"""What people read: dates day first, times on Vietnam's clock, levels in words."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from idp.core.identity import parse_birth_date
from idp.errors import SettingsError, ValidationError
from idp.http.formats import day_text, level_text, moment_iso, moment_text
from idp.settings import Settings

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
# 2026-11-29 14:00 UTC, the instant issue 15 saw printed as "2026-11-29 14:00 UTC".
INSTANT = 1795960800


def test_an_instant_reads_day_first_on_vietnam_time():
    assert moment_text(INSTANT, HCM) == "29/11/2026 21:00"


def test_an_instant_after_five_pm_utc_is_the_next_day_in_vietnam():
    assert moment_text(INSTANT + 3 * 3600, HCM) == "30/11/2026 00:00"


def test_the_machine_readable_time_keeps_the_offset():
    assert moment_iso(INSTANT, HCM) == "2026-11-29T21:00+07:00"


def test_another_configured_zone_moves_the_clock():
    assert moment_text(INSTANT, ZoneInfo("UTC")) == "29/11/2026 14:00"


@pytest.mark.parametrize("value", ["2003-04-05", date(2003, 4, 5)])
def test_a_date_reads_day_first(value):
    assert day_text(value) == "05/04/2003"


def test_a_value_that_is_not_a_date_is_shown_as_it_came():
    assert day_text("sometime") == "sometime"


@pytest.mark.parametrize(
    "lang, level, words",
    [
        ("vi", "LoA2", "Đã xác minh danh tính (mức 2)"),
        ("vi", "LoA1", "Đã xác minh số điện thoại (mức 1)"),
        ("en", "LoA2", "Identity verified (level 2)"),
        ("en", "LoA1", "Phone number confirmed (level 1)"),
        ("vi", "LoA9", "LoA9"),
    ],
)
def test_a_level_reads_in_words_with_its_number(lang, level, words):
    assert level_text(lang, level) == words


@pytest.mark.parametrize("typed", ["05/04/2003", "5/4/2003", "05-04-2003", "05.04.2003", "2003-04-05"])
def test_a_birth_date_is_taken_day_first_as_the_hint_says_or_as_iso(typed):
    assert parse_birth_date(typed, date(2026, 1, 1)) == date(2003, 4, 5)


@pytest.mark.parametrize("typed", ["31/02/2003", "04/2003", "2003-4-5", "13/13/2003"])
def test_a_birth_date_that_is_no_real_day_is_refused(typed):
    with pytest.raises(ValidationError) as refused:
        parse_birth_date(typed, date(2026, 1, 1))

    assert (refused.value.field, refused.value.code) == ("birth_date", "date")


def test_the_time_zone_is_a_setting_and_a_name_zoneinfo_does_not_know_is_refused():
    assert Settings.from_env({}).timezone == "Asia/Ho_Chi_Minh"
    assert Settings.from_env({"IDP_TIMEZONE": "Asia/Bangkok"}).timezone == "Asia/Bangkok"
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"IDP_TIMEZONE": "Asia/Saigon City"})

    assert refused.value.name == "IDP_TIMEZONE"


@pytest.mark.parametrize(
    "env, name",
    [
        ({"IDP_HELP_PHONE": "call us"}, "IDP_HELP_PHONE"),
        ({"IDP_OPERATOR_NAME": "  "}, "IDP_OPERATOR_NAME"),
        ({"IDP_PRIVACY_URL": "http://example.vn/privacy"}, "IDP_PRIVACY_URL"),
    ],
)
def test_the_footer_settings_refuse_a_bad_value_by_name(env, name):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)

    assert refused.value.name == name
