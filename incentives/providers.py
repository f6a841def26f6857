"""What incentives needs from apps above it, provided to it at start-up instead of imported.

Tier rules can ask for a minimum loyalty score, which the `kpis` app computes. `incentives` must
never import `kpis` (the dependency rule), so `kpis` registers its reader here in its
`AppConfig.ready()`, and every tier evaluation (the nightly run and the manager's button) gets the
same scores from it.
"""

_score_provider = None


def register_score_provider(provider):
    """`provider(*, on_date) -> {partner id: score}`: each partner's latest loyalty score on or before that day."""
    global _score_provider
    _score_provider = provider


def loyalty_scores(*, on_date):
    """The registered provider's scores, or None when no app provides them (the criterion is then not checked)."""
    return None if _score_provider is None else _score_provider(on_date=on_date)
