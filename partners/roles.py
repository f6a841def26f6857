"""The "Channel managers" group and the model permissions the manager UI checks.

Created after every migrate (and after every test-database flush, which also sends
post_migrate), so the group can never be missing while the permissions exist.
"""

from django.contrib.auth.models import Group, Permission

from .tenancy import MANAGER_GROUP

MANAGER_PERMISSIONS = {
    "partner": ("view", "add", "change"),
    "contact": ("view", "add", "change", "delete"),
    "membership": ("view", "add", "change"),
    "interaction": ("view", "add", "change"),
    "partnerstatuschange": ("view",),
    "partnerapplication": ("view", "change"),
    "tier": ("view",),
    "territory": ("view",),
}

# The sales app's models (app_label "sales"): imports, and reading the sales data.
SALES_PERMISSIONS = {
    "importjob": ("view", "add"),
    "sale": ("view",),
    "customer": ("view",),
    "product": ("view",),
    "salesmonth": ("view",),
}

# The surveys app's models (app_label "surveys"): the survey builder, waves, results and ideas triage.
SURVEY_PERMISSIONS = {
    "survey": ("view", "add", "change"),
    "question": ("view", "add", "change", "delete"),
    "choice": ("view", "add", "change", "delete"),
    "wave": ("view", "add", "change"),
    "response": ("view",),
    "invitation": ("view",),
    "idea": ("view", "change"),
    "ideaevent": ("view", "add"),
}

# The incentives app's models (app_label "incentives"): programs and rules, period close, payouts,
# the reward catalog, redemptions and tier rules. Settings and hand corrections stay with admins.
INCENTIVE_PERMISSIONS = {
    "program": ("view", "add", "change"),
    "rule": ("view", "add", "change", "delete"),
    "programperiod": ("view", "change"),
    "earningline": ("view",),
    "payout": ("view", "add", "change"),
    "auditentry": ("view",),
    "pointsbalance": ("view",),
    "pointsentry": ("view",),
    "reward": ("view", "add", "change", "delete"),
    "redemption": ("view", "change"),
    "tierrule": ("view", "add", "change"),
    "tierstanding": ("view",),
    "tierchange": ("view", "add"),
}

# The kpis app's models (app_label "kpis"): the dashboards and scorecards read snapshots and alerts,
# managers acknowledge alerts; the score model itself stays with admins.
KPI_PERMISSIONS = {
    "scoresnapshot": ("view",),
    "alert": ("view", "change"),
    "scoremodel": ("view",),
}


def ensure_manager_group(**kwargs):
    """Create the group if needed and grant it the permissions above (adds, never removes)."""
    using = kwargs.get("using", "default")
    group, _ = Group.objects.using(using).get_or_create(name=MANAGER_GROUP)
    codenames = [f"{action}_{model}" for model, actions in MANAGER_PERMISSIONS.items() for action in actions]
    group.permissions.add(*Permission.objects.using(using).filter(content_type__app_label="partners", codename__in=codenames))
    _grant_app_permissions(group, "sales", SALES_PERMISSIONS, using)
    _grant_app_permissions(group, "surveys", SURVEY_PERMISSIONS, using)
    _grant_app_permissions(group, "incentives", INCENTIVE_PERMISSIONS, using)
    _grant_app_permissions(group, "kpis", KPI_PERMISSIONS, using)
    return group


def _grant_app_permissions(group, app_label, permissions, using):
    """Grant another app's permissions (by label: partners does not import the apps above it).

    This runs on partners' post_migrate, before that app's own post_migrate has created its
    permissions on a fresh database, so they are created here first (idempotent).
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    try:
        app_config = apps.get_app_config(app_label)
    except LookupError:
        return
    create_permissions(app_config, verbosity=0, using=using)
    codenames = [f"{action}_{model}" for model, actions in permissions.items() for action in actions]
    group.permissions.add(*Permission.objects.using(using).filter(content_type__app_label=app_label, codename__in=codenames))
