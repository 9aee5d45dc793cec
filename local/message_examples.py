"""Rendered examples of every message in every template language, committed under docs/messages/ so reviewers and
translators can read them. Regenerate with `python -m local.message_examples`; a test keeps them current."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hod.messages import language_name, local_time, render, template_languages

OUT = Path(__file__).resolve().parent.parent / "docs" / "messages"

SAMPLE = {
    "city": "Austin",
    "county": "Travis County",
    "state": "TX",
    "deadline": "3:45 PM CST",  # in each language's own form in the examples (local_time)
    "link": "https://hod.example.org/v1/offers/view?t=v1.example-token",
    "text_link": "https://hod.example.org/v1/l/Xq3v9KpT2aw",
    "status_link": "https://hod.example.org/v1/status?t=v1.example-token",
    "text_status_link": "https://hod.example.org/v1/l/Tz8m2RwQ5bc",
    "consumer_name": "Rosa Martínez",
    "consumer_phone": "+15125550188",
    "code": "HK7M-4QXZ",
    "consumer_email": "rosa@example.org",
    "first_name": "Rosa",
    "agent_name": "Ana García",
    "agent_phone": "+15125550142",
    "missed_count": "2",
    "after_minutes": "15",
    "expires_minutes": "20",
    "expires_days": "7",
}
DEADLINE = datetime(2026, 1, 13, 21, 45, tzinfo=UTC)  # 3:45 p.m. in Austin
# A sign-in or activation link opens the portal, which exchanges the token in its fragment (services/access.py)
PORTAL_LINK = "https://hod.example.org/v1/portal#t=v1.example-token"
LINKS = {"sign_in": PORTAL_LINK, "activation": PORTAL_LINK}
KINDS = (
    "offer",
    "safety_net",
    "accepted",
    "reminder",
    "consumer_received",
    "consumer_agent_assigned",
    "missed",
    "suspended",
    "not_called",
    "not_called_reassigned",
    "sign_in",
    "activation",
)


def examples() -> dict[str, str]:
    files: dict[str, str] = {}
    for language in template_languages():
        for kind in KINDS:
            values = {
                **SAMPLE,
                "deadline": local_time(DEADLINE, ZoneInfo("America/Chicago"), language),
                "link": LINKS.get(kind, SAMPLE["link"]),
                "language_name": language_name("es", language),
            }
            message = render(kind, language, values)
            text = f"Subject: {message.subject}\n\n{message.text}\n"
            if message.sms:
                text += f"\n--- text message ({len(message.sms)} characters) ---\n{message.sms}\n"
            if message.push_title:
                text += f"\n--- app push ---\n{message.push_title}\n{message.push_body}\n"
            files[f"{kind}.{language}.txt"] = text
            files[f"{kind}.{language}.html"] = message.html + "\n"
    return files


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, content in examples().items():
        (OUT / name).write_text(content, encoding="utf-8")
    print(f"wrote {len(examples())} files to {OUT}")


if __name__ == "__main__":
    main()
