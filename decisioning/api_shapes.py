"""The shapes of the decisioning API's bodies and answers (``decisioning.api``): the serializers
drf-spectacular writes the schema from, and the help texts and patterns they share."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blueprint.models import KEY_PATTERN
from decisioning.limits import LIMITS
from decisioning.lint import LEVELS, LINT_STEPS, OVERLAPS_LISTED
from decisioning.selectors import AT_RANGE, MOMENT_PATTERN, VERSION_MAX


class FindingOutput(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(LEVELS), help_text="One of the lint's codes.")
    level = serializers.ChoiceField(
        choices=["error", "warning", "info"], help_text="Publishing is refused while an error stands."
    )
    message = serializers.CharField(help_text="The finding in plain language, naming stages and offers.")
    stage = serializers.CharField(allow_null=True, help_text="The key of the stage it is about.")
    offers = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "The keys of the offers it is about. duplicate-offer: the lower one, then its twin; "
            "shadowed-offer: the hidden one, then the offers above it that take its customers; "
            "overlap: the higher one first."
        ),
    )
    example = serializers.DictField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text=(
            "For gap, overlap, duplicate-offer, shadowed-offer, stage-overlap and stage-unreachable: a "
            "customer profile (attribute key → value) that shows it on the decision day; attributes left "
            "out are missing. Otherwise null."
        ),
    )
    part = serializers.ChoiceField(
        choices=["entry", "offer"],
        allow_null=True,
        help_text="Where on the board: the stage's entry conditions, an offer, or null for the stage.",
    )
    group = serializers.IntegerField(
        allow_null=True, help_text="contradiction, redundant-condition: the index of the group (from 0)."
    )
    condition = serializers.IntegerField(
        allow_null=True, help_text="redundant-condition: the index of the condition in the group (from 0)."
    )
    check = serializers.ChoiceField(
        choices=["shadowed-offer", "gap", "stage-unreachable"],
        allow_null=True,
        help_text=(
            "unchecked: the check that did not finish within the lint's budget — shadowed-offer (whether "
            "the offers named can ever be shown, or duplicate one above; an error, so publishing is "
            "refused), gap (a warning) or stage-unreachable (whether earlier stages take every customer of "
            "the stage, when each customer is in one stage; an error). Nothing is claimed about what it "
            "would have found. Null for every other finding."
        ),
    )
    stages = serializers.ListField(
        child=serializers.CharField(),
        help_text="stage-overlap: the keys of the two stages a customer can be in at once, in journey "
        "order (stage is the later one). Empty for every other finding.",
    )
    day = serializers.DateField(
        allow_null=True,
        help_text="The decision day the example is on, when the offers' dates make it matter; null otherwise.",
    )


class NotListedOutput(serializers.Serializer):
    stage = serializers.CharField(help_text="The key of the stage.")
    code = serializers.ChoiceField(choices=["overlap"], help_text="The findings counted but not listed.")
    level = serializers.ChoiceField(choices=["error", "warning", "info"])
    found = serializers.IntegerField(help_text="How many the stage has, all checked.")
    listed = serializers.IntegerField(help_text="How many of them are listed (the first, in priority order).")
    message = serializers.CharField(help_text="The same in plain language.")


class LintOutput(serializers.Serializer):
    at = serializers.DateField(help_text="The decision day the lint was made for.")
    rev = serializers.IntegerField(
        help_text="The blueprint's rev when it was read: the lint covers that board."
    )
    # Named like Serializer.errors; the metaclass moves declared fields aside, so only mypy minds.
    errors = FindingOutput(many=True, help_text="Publishing is refused while any stands.")  # type: ignore[assignment]
    warnings = FindingOutput(many=True, help_text="Gaps, empty stages, redundant conditions.")
    infos = FindingOutput(many=True, help_text="Overlaps: two offers can meet one customer; the higher wins.")
    complete = serializers.BooleanField(
        help_text=(
            "Every check finished. False when some stage was too complex to check in full within the "
            "lint's budget: each such check is an `unchecked` finding (errors or warnings)."
        )
    )
    not_listed = NotListedOutput(
        many=True,
        help_text=(
            f"Findings found and counted but not listed, per stage: at most {OVERLAPS_LISTED} overlaps of a "
            "stage are listed (pairs of offers grow with the square of the offers)."
        ),
    )
    steps = serializers.IntegerField(
        help_text=(
            "The work the coverage checks took, in counted steps (not time: the same board and day "
            f"always give the same answer); the budget is {LINT_STEPS:,}."
        )
    )


# --- Shapes: decisions -------------------------------------------------------------------------------

VERSION_INPUT_HELP = (
    'Which rules: absent or "live" for the live version (409 when there is none), a version number, '
    'or "draft" for the board as it is now (owners and editors).'
)
AT_INPUT_HELP = (
    f"The decision time: a day (YYYY-MM-DD) or an ISO date-time (its day in the server's time zone), "
    f"written {AT_RANGE}. `within_last_days` counts back from it. Default: today in the server's time zone."
)
VERSION_TEXT_SCHEMA = {"type": "string", "pattern": r"^(live|draft|[1-9][0-9]{0,8})$"}
MOMENT_SCHEMA = {"type": "string", "pattern": MOMENT_PATTERN}
STAGE_SCHEMA = {"type": "string", "pattern": r"^[a-z0-9_-]{1,64}$"}


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1, "maximum": VERSION_MAX}, VERSION_TEXT_SCHEMA]}
)
class VersionField(serializers.JSONField):
    """``version`` in a body: a number, as JSON or as text, "live" or "draft" (selectors.version_choice)."""


@extend_schema_field({"type": "string", "pattern": MOMENT_PATTERN})
class MomentField(serializers.CharField):
    """``at`` in a body (selectors.decision_day)."""


def _stage_input(help_text: str) -> serializers.RegexField:
    return serializers.RegexField(
        KEY_PATTERN, max_length=64, required=False, allow_null=True, help_text=help_text
    )


PROFILE_HELP = (
    "The customer: attribute key → value, checked against the catalog. Numbers are JSON numbers, "
    'booleans true/false, dates "YYYY-MM-DD" (or an ISO date-time, whose date is used), sets lists '
    "of texts. Missing or null: the attribute is missing (no condition on it is met). Unknown keys "
    "are ignored."
)


class VersionOutput(serializers.Serializer):
    number = serializers.IntegerField(required=False, help_text="The published version decided with.")
    draft = serializers.BooleanField(required=False, help_text="True when the draft was decided with.")
    rev = serializers.IntegerField(required=False, help_text="The draft's rev.")


class DecideInput(serializers.Serializer):
    profile = serializers.DictField(child=serializers.JSONField(), help_text=PROFILE_HELP)
    stage = _stage_input("Decide this stage only (its key).")
    at = MomentField(required=False, allow_null=True, help_text=AT_INPUT_HELP)
    version = VersionField(required=False, allow_null=True, help_text=VERSION_INPUT_HELP)
    explain = serializers.BooleanField(
        required=False, help_text="Also give every offer's outcome, each condition's result and why not."
    )


class ConditionOutcomeOutput(serializers.Serializer):
    attribute = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField()
    sentence = serializers.CharField(help_text="The condition as the board shows it.")
    actual = serializers.JSONField(allow_null=True, help_text="The profile's value; null when missing.")
    missing = serializers.BooleanField()
    result = serializers.BooleanField()


class GroupOutcomeOutput(serializers.Serializer):
    result = serializers.BooleanField(help_text="All its conditions hold.")
    conditions = ConditionOutcomeOutput(many=True)


class WhyNotOutput(serializers.Serializer):
    not_entered = serializers.BooleanField(
        help_text="The stage's entry conditions fail, or (each customer in one stage) the customer is in "
        "an earlier stage: see earlier."
    )
    failed = ConditionOutcomeOutput(many=True, help_text="The conditions that fail (entry ones first).")
    taken_by = serializers.ListField(
        child=serializers.CharField(), help_text="Higher-priority offers that match this customer."
    )
    possible = serializers.BooleanField(
        allow_null=True,
        help_text=(
            "False: no customer can get this offer (see the lint). Null: not settled, the stage is too "
            "complex to search in full (see complete)."
        ),
    )
    change = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        allow_null=True,
        help_text=(
            "The smallest change to the profile (fewest attributes) that gets this offer chosen: "
            "attribute → new value, null to leave it out. Null when impossible, or when the search did "
            "not finish (complete is false)."
        ),
    )
    complete = serializers.BooleanField(
        help_text=(
            "The search finished: possible and change are exact. False when the explanation's budget "
            "(counted steps, shared by the offers of the decision) ran out first; then not_checked says "
            "what was not settled, and the failed conditions and taken_by are still exact."
        )
    )
    not_checked = serializers.CharField(
        allow_null=True, help_text="What the search did not settle, in plain language; null when complete."
    )
    earlier = serializers.CharField(
        allow_null=True,
        help_text="When each customer is in one stage: the key of the earlier stage this customer is in, "
        "which takes them before this one; null otherwise.",
    )
    closed = serializers.CharField(
        allow_null=True,
        help_text='Outside the offer\'s days on the decision day, in words ("ended on 30 June 2027"); null otherwise.',
    )


class OfferOutcomeOutput(serializers.Serializer):
    offer = serializers.CharField()
    name = serializers.CharField()
    fallback = serializers.BooleanField()
    matched = serializers.BooleanField(
        help_text="Its conditions hold (a fallback never matches: it is what is left)."
    )
    chosen = serializers.BooleanField()
    groups = GroupOutcomeOutput(many=True)
    why_not = WhyNotOutput(allow_null=True, help_text="For an offer not chosen; null for the chosen one.")


class StageExplainOutput(serializers.Serializer):
    entry = GroupOutcomeOutput(many=True)
    offers = OfferOutcomeOutput(many=True)


class StageDecisionOutput(serializers.Serializer):
    stage = serializers.CharField(help_text="The stage's key.")
    entered = serializers.BooleanField(
        help_text="The customer is in this stage (false only for a stage asked for): its entry conditions "
        "hold and, when each customer is in one stage, no earlier stage's do."
    )
    offer = serializers.CharField(allow_null=True, help_text="The offer's key; null when none (a gap).")
    fallback = serializers.BooleanField(help_text="The offer is the stage's fallback.")
    eligible = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every offer that matches, in priority order (fallback aside).",
    )
    earlier = serializers.CharField(
        required=False,
        help_text="Given only when each customer is in one stage and this stage was asked for: the key "
        "of the earlier stage the customer is in (so not in this one).",
    )
    explain = StageExplainOutput(required=False)


class DecideOutput(serializers.Serializer):
    version = VersionOutput(help_text="What the answer was computed from.")
    at = serializers.DateField(help_text="The decision day.")
    decisions = StageDecisionOutput(
        many=True, help_text="The stages entered (or the one asked for), in journey order."
    )
    skipped = StageDecisionOutput(
        many=True, required=False, help_text="With explain: the stages not entered, explained."
    )


class DecideBatchInput(serializers.Serializer):
    profiles = serializers.ListField(
        child=serializers.JSONField(),
        max_length=LIMITS.batch_profiles,
        help_text="Profiles, as in decide (at most batch_profiles in one request).",
    )
    stage = _stage_input("Decide this stage only.")
    at = MomentField(required=False, allow_null=True, help_text=AT_INPUT_HELP)
    version = VersionField(required=False, allow_null=True, help_text=VERSION_INPUT_HELP)
    explain = serializers.BooleanField(required=False, help_text="Explain every answer (JSON answers only).")


class RowErrorOutput(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), help_text="Messages by attribute key."
    )


class BatchResultOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="The profile's place, from 1 (the CSV's data row).")
    decisions = StageDecisionOutput(many=True, required=False)
    skipped = StageDecisionOutput(many=True, required=False)
    error = RowErrorOutput(required=False, help_text="A bad profile: nothing decided for it.")


class DecideBatchOutput(serializers.Serializer):
    version = VersionOutput()
    at = serializers.DateField()
    results = BatchResultOutput(many=True, help_text="One per profile, in order.")


class CoverageOfferOutput(serializers.Serializer):
    offer = serializers.CharField()
    name = serializers.CharField()
    fallback = serializers.BooleanField()
    count = serializers.IntegerField(help_text="Rows of the sample this offer is given to.")


class CoverageStageOutput(serializers.Serializer):
    stage = serializers.CharField()
    name = serializers.CharField()
    entered = serializers.IntegerField(help_text="Rows in this stage.")
    not_entered = serializers.IntegerField(help_text="Good rows not in this stage.")
    offers = CoverageOfferOutput(many=True, help_text="In priority order.")
    none = serializers.IntegerField(help_text="Rows in the stage that get no offer (a gap).")


class CoverageRowError(serializers.Serializer):
    row = serializers.IntegerField()
    error = serializers.CharField()


class CoverageOutput(serializers.Serializer):
    version = VersionOutput()
    at = serializers.DateField()
    rows = serializers.IntegerField(help_text="Rows in the sample.")
    bad_rows = serializers.IntegerField(help_text="Rows with a bad value: counted in no stage.")
    errors = CoverageRowError(many=True, help_text="The first 20 bad rows.")  # type: ignore[assignment]
    stages = CoverageStageOutput(many=True)


# --- Plumbing -----------------------------------------------------------------------------------------
