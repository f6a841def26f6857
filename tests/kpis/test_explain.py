"""The sentence that explains a score change names only components that moved by a whole point."""

from kpis.scoring import explain_change


def test_components_that_moved_less_than_half_a_point_are_left_out():
    moves = [
        {"name": "engagement", "delta": -7.2, "from": 40.0, "to": 32.8},
        {"name": "growth", "delta": 0.31, "from": 55.5, "to": 55.81},
    ]
    assert explain_change(score=62.4, previous_score=63.4, moves=moves) == "Score fell 1 point: engagement down 7"


def test_only_tiny_moves_leave_the_headline_alone():
    moves = [{"name": "growth", "delta": -0.2, "from": 55.5, "to": 55.3}]
    assert explain_change(score=63.4, previous_score=63.4, moves=moves) == "Score unchanged"


def test_a_component_that_appears_is_named():
    moves = [{"name": "satisfaction", "delta": None, "from": None, "to": 80.0}]
    assert explain_change(score=70, previous_score=60, moves=moves) == "Score rose 10 points: satisfaction now measured"
