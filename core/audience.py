"""Audience targeting: who an object (a program, a survey, a reward, later a resource or an event) is for.

One rule for everyone: each criterion the object has (partner types, tiers, territories, countries,
named partners) narrows the audience, and an empty criterion means "every". A model declares which
criteria it has (`audience_criteria`, the names of its fields) and which partner statuses are in
its audience at all (`audience_statuses`, None for every status); those two class attributes are
the eligibility rules of each caller, written where the model is.

- `obj.audience_q()`: a Q over Partner for the partners in the audience (which partners a wave
  invites, which partners a program pays).
- `obj.matches(partner)`: the same rule in Python for one partner, from prefetched criteria.
- `Model.objects.reaching(partner)` (`AudienceQuerySet`): the objects whose audience includes the
  partner (which programs, rewards or surveys a portal user sees).

`core` imports no app: the criteria are read by field name, the partner by its attributes
(`partner_type`, `tier_id`, `territory_id`, `country`, `status`, `pk`).
"""

from django.db import models
from django.db.models import Q

# field name on the targeted model -> (partner field in a Q, how to read the partner's value)
CRITERIA = {
    "partner_types": ("partner_type", lambda partner: partner.partner_type),
    "tiers": ("tier_id", lambda partner: partner.tier_id),
    "territories": ("territory_id", lambda partner: partner.territory_id),
    "countries": ("country", lambda partner: str(partner.country or "")),
    "partners": ("pk", lambda partner: partner.pk),
}
# Criteria kept as a list of values on the row (JSON), not as a many-to-many relation.
LIST_CRITERIA = {"partner_types", "countries"}


class AudienceMixin(models.Model):
    """Targeting for a model that has some of the fields named in `CRITERIA`."""

    audience_criteria = ()
    audience_statuses = None  # partner statuses in the audience at all; None: every status

    class Meta:
        abstract = True

    def _criterion_values(self, name):
        if name in LIST_CRITERIA:
            return list(getattr(self, name) or [])
        if not self.pk:
            return []
        return [related.pk for related in getattr(self, name).all()]  # .all() uses a prefetch when there is one

    def audience_q(self):
        """A Q over Partner: the partners this object is for."""
        condition = Q(status__in=self.audience_statuses) if self.audience_statuses is not None else Q()
        for name in self.audience_criteria:
            values = self._criterion_values(name)
            if values:
                condition &= Q(**{f"{CRITERIA[name][0]}__in": values})
        return condition

    def matches(self, partner):
        """Whether `partner` is in the audience (the same rule as `audience_q`, without a query per criterion
        when the criteria are prefetched)."""
        if self.audience_statuses is not None and partner.status not in self.audience_statuses:
            return False
        for name in self.audience_criteria:
            values = self._criterion_values(name)
            if values and CRITERIA[name][1](partner) not in values:
                return False
        return True


class AudienceQuerySet(models.QuerySet):
    """`reaching(partner)`: the objects whose audience includes `partner`."""

    def reaching(self, partner):
        criteria = self.model.audience_criteria
        statuses = self.model.audience_statuses
        if statuses is not None and partner.status not in statuses:
            return self.none()
        queryset = self
        list_criteria = [name for name in criteria if name in LIST_CRITERIA]
        if list_criteria:
            # Checked in Python over (id, values) rows: JSON containment is not available on SQLite (the
            # embedded database of `make run`), and targeted objects are few next to partners.
            rows = self.values_list("pk", *list_criteria)
            kept = [
                row[0]
                for row in rows
                if all(not values or CRITERIA[name][1](partner) in values for name, values in zip(list_criteria, row[1:], strict=True))
            ]
            queryset = queryset.filter(pk__in=kept)
        for name in criteria:
            if name in LIST_CRITERIA:
                continue
            value = CRITERIA[name][1](partner)
            queryset = queryset.filter(Q(**{f"{name}__isnull": True}) | Q(**{name: value}))
        return queryset.distinct() if any(name not in LIST_CRITERIA for name in criteria) else queryset
