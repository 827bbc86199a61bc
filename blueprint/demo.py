"""The demo: a realistic retail-banking blueprint for the web channel, and the four demo users.

Loaded once by ``manage.py load_demo`` (which ``make run`` calls) and never in production. Everything
is built through the services — ``blueprint_create``, ``membership_set`` and ``operations_apply`` —
so the demo is validated exactly like a user's edits and shows up in the operation log; then the
editor publishes it and the approver approves it, so version 1 is live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from blueprint.models import Blueprint, Role
from blueprint.services import (
    blueprint_create,
    membership_set,
    operations_apply,
    version_approve,
    version_publish,
)

DEMO_PASSWORD = "demo"
DEMO_USERS = ("owner", "editor", "approver", "viewer")
DEMO_NAME = "Retail banking – web"
DEMO_CONTEXT = "Retail bank, personal customers, public website and logged-in web banking"
DEMO_CHANNELS = ["web", "email", "app"]
DEMO_VERSION_NOTE = "First cut from the journey workshop: six stages, 25 offers."
DEMO_DESCRIPTION = (
    "Which message each visitor of the bank's website sees, from the first visit to becoming an "
    "advocate. Worked out in the Q3 strategy workshop with marketing, digital sales and analytics."
)

CATALOG: list[dict[str, Any]] = [
    {
        "key": "customer_status",
        "label": "Customer status",
        "kind": "attribute",
        "type": "choice",
        "choices": ["Prospect", "Applicant", "New customer", "Active", "Lapsing"],
        "description": "Where the person is in their relationship with the bank, recomputed nightly.",
        "source": "CRM",
    },
    {
        "key": "segment",
        "label": "Segment",
        "kind": "attribute",
        "type": "choice",
        "choices": ["Student", "Standard", "Premier", "Private"],
        "description": "Service segment; Premier from EUR 75,000 in deposits or investments.",
        "source": "CRM",
    },
    {
        "key": "age",
        "label": "Age",
        "kind": "attribute",
        "type": "number",
        "unit": "years",
        "description": "Age in whole years on the decision date.",
        "source": "Core banking",
    },
    {
        "key": "tenure_months",
        "label": "Tenure",
        "kind": "attribute",
        "type": "number",
        "unit": "months",
        "description": "Months since the first product was opened; 0 for prospects.",
        "source": "Core banking",
    },
    {
        "key": "balance",
        "label": "Total balance",
        "kind": "attribute",
        "type": "number",
        "unit": "EUR",
        "description": "Sum of current-account and savings balances at the end of the previous day.",
        "source": "Data warehouse",
    },
    {
        "key": "products",
        "label": "Products held",
        "kind": "attribute",
        "type": "set",
        "choices": [
            "current_account",
            "savings",
            "credit_card",
            "mortgage",
            "personal_loan",
            "investments",
            "home_insurance",
        ],
        "description": "Open products, one entry per product type.",
        "source": "Core banking",
    },
    {
        "key": "last_login",
        "label": "Last login",
        "kind": "behaviour",
        "type": "date",
        "description": "Date of the last successful log-in to web or app banking.",
        "source": "Digital banking",
    },
    {
        "key": "visits_30d",
        "label": "Website visits in the last 30 days",
        "kind": "behaviour",
        "type": "number",
        "unit": "visits",
        "description": "Sessions on the public site and web banking, last 30 days.",
        "source": "Web analytics",
    },
    {
        "key": "has_app",
        "label": "App user",
        "kind": "behaviour",
        "type": "boolean",
        "description": "Logged in to the mobile app at least once in the last 90 days.",
        "source": "Digital banking",
    },
    {
        "key": "channel",
        "label": "Channel",
        "kind": "context",
        "type": "choice",
        "choices": ["web", "app", "email", "branch", "call_centre"],
        "description": "Where the decision is shown.",
        "source": "Request",
    },
    {
        "key": "device",
        "label": "Device",
        "kind": "context",
        "type": "choice",
        "choices": ["desktop", "mobile", "tablet"],
        "description": "Device class from the user agent.",
        "source": "Request",
    },
    {
        "key": "city",
        "label": "City",
        "kind": "context",
        "type": "text",
        "description": "City from the customer's address, or from IP geolocation for prospects.",
        "source": "Request",
    },
]


def c(attribute: str, operator: str, value: Any) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value}


# Each stage: its fields, then its offers in priority order (specific first, broad later, fallback last).
STAGES: list[dict[str, Any]] = [
    {
        "key": "awareness",
        "name": "Awareness",
        "description": "People who do not bank with us yet and are getting to know the brand.",
        "entry": [[c("customer_status", "is", "Prospect")]],
        "offers": [
            {
                "key": "student_account",
                "name": "Student account – no fees until 26",
                "channel": "web",
                "description": "Hero banner on the homepage: the fee-free student account with a free rail card.",
                "content_ref": "https://cdn.example.com/banners/student-account-hero.png",
                "tags": ["students", "hero banner"],
                "groups": [[c("age", "between", [18, 26]), c("segment", "is", "Student")]],
            },
            {
                "key": "switch_in_10_minutes",
                "name": "Switch to us in 10 minutes",
                "channel": "web",
                "description": "Mobile-first banner for the guided account switch, opened on the phone.",
                "content_ref": "CMS-4711",
                "tags": ["switching", "mobile"],
                "groups": [[c("device", "is", "mobile"), c("visits_30d", "at_least", 2)]],
            },
            {
                "key": "branch_open_evening",
                "name": "Money open evening in your city",
                "channel": "web",
                "description": "Invitation to a free evening on budgeting and mortgages in a nearby branch.",
                "content_ref": "CMS-5120",
                # the season of evenings: outside it the banner is not shown
                "starts_on": "2026-09-01",
                "ends_on": "2027-11-30",
                "tags": ["events", "branches"],
                "groups": [[c("city", "is_one_of", ["Dublin", "Cork", "Galway"]), c("age", "at_least", 27)]],
            },
            {
                "key": "why_bank_with_us",
                "name": "Why bank with us",
                "channel": "web",
                "fallback": True,
                "description": "Brand banner: award-winning app, 300 branches, deposit protection.",
            },
        ],
    },
    {
        "key": "consideration",
        "name": "Consideration",
        "description": "Prospects and applicants who are comparing products and coming back to the site.",
        "entry": [
            [c("customer_status", "is_one_of", ["Prospect", "Applicant"]), c("visits_30d", "at_least", 2)]
        ],
        "offers": [
            {
                "key": "resume_application",
                "name": "Pick up your application where you left it",
                "channel": "web",
                "description": "Applicants who logged in during the last two weeks see their open application "
                "with the one step that is missing.",
                "groups": [
                    [c("customer_status", "is", "Applicant"), c("last_login", "within_last_days", 14)]
                ],
            },
            {
                "key": "mortgage_in_principle",
                "name": "Mortgage approval in principle in 15 minutes",
                "channel": "web",
                "description": "Calculator and approval in principle for first-time buyers on a desktop.",
                "groups": [
                    [
                        c("age", "between", [25, 45]),
                        c("device", "is_one_of", ["desktop", "tablet"]),
                        c("visits_30d", "at_least", 4),
                    ]
                ],
            },
            {
                "key": "account_comparison",
                "name": "Compare our current accounts",
                "channel": "web",
                "description": "Side-by-side table of the three current accounts for frequent visitors.",
                "groups": [[c("visits_30d", "at_least", 6)]],
            },
            {
                "key": "customer_stories",
                "name": "Customer stories",
                "channel": "web",
                "fallback": True,
                "description": "Short videos of customers who switched last year.",
            },
        ],
    },
    {
        "key": "onboarding",
        "name": "Onboarding",
        "description": "The first three months: get the account working and the app installed.",
        "entry": [[c("customer_status", "is", "New customer"), c("tenure_months", "at_most", 3)]],
        "offers": [
            {
                "key": "salary_switch",
                "name": "Move your salary in two clicks",
                "channel": "web",
                "description": "Guided salary and direct-debit switch for accounts opened last month.",
                "groups": [[c("products", "includes", "current_account"), c("tenure_months", "at_most", 1)]],
            },
            {
                "key": "get_the_app",
                "name": "Get the app and log in with your face",
                "channel": "web",
                "description": "QR code to install the app; shown on the desktop to customers without the app.",
                "groups": [[c("has_app", "is", False), c("device", "is", "desktop")]],
            },
            {
                "key": "first_savings_goal",
                "name": "Set your first savings goal",
                "channel": "app",
                "description": "Round-ups into a savings pot, for new customers with money to spare.",
                "groups": [[c("products", "includes", "current_account"), c("balance", "above", 1000)]],
            },
            {
                "key": "welcome_guide",
                "name": "Your getting-started guide",
                "channel": "email",
                "fallback": True,
                "description": "Checklist: card activation, PIN, online banking, app, notifications.",
            },
        ],
    },
    {
        "key": "engagement",
        "name": "Engagement",
        "description": "Active customers: deepen the relationship with the next product that fits.",
        "entry": [[c("customer_status", "is", "Active")]],
        "offers": [
            {
                "key": "premier_upgrade",
                "name": "Invitation to Premier banking",
                "channel": "web",
                "description": "Personal relationship manager and travel insurance for customers who qualify.",
                "groups": [[c("segment", "is", "Standard"), c("balance", "at_least", 75000)]],
            },
            {
                "key": "investment_starter",
                "name": "Start investing from EUR 50 a month",
                "channel": "web",
                "description": "Managed portfolio for savers in Premier and Private who do not invest yet.",
                "groups": [
                    [
                        c("segment", "is_one_of", ["Premier", "Private"]),
                        c("products", "includes", "savings"),
                        c("age", "at_most", 60),
                    ]
                ],
            },
            {
                "key": "home_insurance",
                "name": "Home insurance with your mortgage discount",
                "channel": "email",
                "description": "10% off home insurance for mortgage holders.",
                "groups": [[c("products", "includes", "mortgage"), c("age", "at_least", 25)]],
            },
            {
                "key": "cashback_card",
                "name": "1% cashback credit card",
                "channel": "web",
                "description": "Pre-approved credit card for everyday spenders, shown in web banking.",
                "groups": [
                    [
                        c("products", "includes_any_of", ["current_account", "savings"]),
                        c("age", "at_least", 21),
                        c("balance", "between", [2500, 75000]),
                    ]
                ],
            },
            {
                "key": "travel_money_in_app",
                "name": "Travel money at the real exchange rate",
                "channel": "app",
                "description": "Order currency in the app; for app users who logged in this week.",
                "groups": [[c("has_app", "is", True), c("last_login", "within_last_days", 7)]],
            },
        ],
    },
    {
        "key": "retention",
        "name": "Retention",
        "description": "Customers who are using us less: find out why and keep them.",
        "entry": [
            [c("customer_status", "is_one_of", ["Active", "Lapsing"]), c("tenure_months", "at_least", 6)]
        ],
        "offers": [
            {
                "key": "adviser_call",
                "name": "A call from your relationship manager",
                "channel": "call_centre",
                "description": "Premier and Private customers who are lapsing get a personal call within a week.",
                "groups": [
                    [c("segment", "is_one_of", ["Premier", "Private"]), c("customer_status", "is", "Lapsing")]
                ],
            },
            {
                "key": "fee_free_month",
                "name": "We miss you: three fee-free months",
                "channel": "email",
                "description": "Lapsing customers with hardly any visits get the account fee waived.",
                "groups": [[c("customer_status", "is", "Lapsing"), c("visits_30d", "below", 2)]],
            },
            {
                "key": "mortgage_rate_review",
                "name": "Review your mortgage rate",
                "channel": "web",
                "description": "Fixed-rate mortgages coming off their term: a better rate before they shop around.",
                "groups": [[c("products", "includes", "mortgage"), c("tenure_months", "at_least", 24)]],
            },
            {
                "key": "loyalty_savings_bonus",
                "name": "Loyalty bonus on your savings",
                "channel": "web",
                "description": "An extra 0.5% for five years and more with us.",
                "groups": [[c("tenure_months", "at_least", 60), c("products", "includes", "savings")]],
            },
            {
                "key": "service_check_in",
                "name": "How are we doing?",
                "channel": "email",
                "fallback": True,
                "description": "Two-question survey with a link to the help centre.",
            },
        ],
    },
    {
        "key": "advocacy",
        "name": "Advocacy",
        "description": "Loyal, happy customers who can bring friends and family.",
        "entry": [[c("customer_status", "is", "Active"), c("tenure_months", "at_least", 12)]],
        "offers": [
            {
                "key": "refer_a_friend",
                "name": "Refer a friend: EUR 50 for each of you",
                "channel": "app",
                "description": "Referral link for engaged app users.",
                "groups": [[c("has_app", "is", True), c("visits_30d", "at_least", 4)]],
            },
            {
                "key": "rate_the_app",
                "name": "Rate us in the app store",
                "channel": "app",
                "description": "In-app review prompt right after a successful log-in.",
                "groups": [[c("channel", "is", "app"), c("last_login", "within_last_days", 3)]],
            },
            {
                "key": "customer_panel",
                "name": "Join our customer panel",
                "channel": "email",
                "description": "Invitation to quarterly product feedback sessions, either for Premier and "
                "Private customers or for long-standing customers in the big cities.",
                "groups": [
                    [c("segment", "is_one_of", ["Premier", "Private"]), c("age", "at_least", 30)],
                    [c("tenure_months", "at_least", 120), c("city", "is_one_of", ["Dublin", "Cork"])],
                ],
            },
        ],
    },
]


@dataclass
class DemoResult:
    # None when the demo was loaded before and its blueprint has since been deleted.
    blueprint: Blueprint | None
    created: bool


def demo_operations() -> list[tuple[str, dict[str, Any]]]:
    """The catalog, the stages and their offers as operations, in board order."""
    ops: list[tuple[str, dict[str, Any]]] = [("attribute.create", dict(a)) for a in CATALOG]
    for stage in STAGES:
        ops.append(("stage.create", {k: stage[k] for k in ("key", "name", "description", "entry")}))
        for offer in stage["offers"]:
            ops.append(("offer.create", {"stage": stage["key"], **offer}))
    return ops


def demo_load() -> DemoResult:
    """Create the four demo users and the demo blueprint, once.

    The demo users exist only because this function made them, so an existing ``owner`` means the
    demo was loaded before: then nothing is changed, and edits made since (even deleting the demo
    blueprint) are kept. All or nothing: one transaction. The caller decides whether a demo belongs
    on this installation (``load_demo`` refuses when DEBUG is off).
    """
    user_model = get_user_model()
    owner = user_model.objects.filter(username=DEMO_USERS[0]).first()
    if owner is not None:
        earlier = Blueprint.objects.filter(created_by=owner, name=DEMO_NAME).order_by("id").first()
        return DemoResult(blueprint=earlier, created=False)
    with transaction.atomic():
        users = {
            name: user_model.objects.create_user(username=name, password=DEMO_PASSWORD) for name in DEMO_USERS
        }
        owner = users["owner"]
        blueprint = blueprint_create(
            actor=owner,
            name=DEMO_NAME,
            context=DEMO_CONTEXT,
            channels=DEMO_CHANNELS,
            description=DEMO_DESCRIPTION,
            # Several stages at once: the stages are audiences with touchpoints of their own (an active
            # customer of two years is asked to engage, to stay and to refer a friend, each in its
            # place). Taking only the first in journey order would let Engagement, which holds every
            # active customer, swallow Retention and Advocacy. The lint says where stages overlap.
            stage_mode="several",
        )
        for username in DEMO_USERS[1:]:
            membership_set(
                actor=owner, blueprint_id=blueprint.pk, username=username, role=Role(username).value
            )
        # actor=None is the system, as for imports: the log shows the demo loader built the board.
        operations_apply(blueprint_id=blueprint.pk, actor=None, operations=demo_operations())
        # a live version, so the decide API, the simulator and the exports work from the first minute:
        # published by the editor, approved by the approver (four eyes), through the review services
        first = version_publish(blueprint_id=blueprint.pk, actor=users["editor"], note=DEMO_VERSION_NOTE)
        version_approve(
            blueprint_id=blueprint.pk,
            number=first.number,
            actor=users["approver"],
            comment="Checked against the journey workshop notes.",
        )
    blueprint.refresh_from_db()
    return DemoResult(blueprint=blueprint, created=True)
