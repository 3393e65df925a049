"""The structure of a search space as a tree of plain nodes, for the text drawing and for pictures.

Built from a ``ConfigurationSpace`` alone (an HDL dict is compiled first), by the naming convention of
:func:`~ultraopt.hdl.hdl2cs`: ``:`` nests names and ``name:__choice__`` is a conditional choice whose
alternatives hold the hyperparameters named ``name:<alternative>:...``. Renderers only read the nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ConfigSpace import ConfigurationSpace
from ConfigSpace.conditions import (
    AndConjunction,
    EqualsCondition,
    GreaterThanCondition,
    InCondition,
    LessThanCondition,
    NotEqualsCondition,
    OrConjunction,
)
from ConfigSpace.forbidden import (
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    ForbiddenEqualsRelation,
    ForbiddenGreaterThanRelation,
    ForbiddenInClause,
    ForbiddenLessThanRelation,
)
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    Hyperparameter,
    NumericalHyperparameter,
    OrdinalHyperparameter,
)

from ultraopt.hdl.compile import as_config_space
from ultraopt.hdl.configs import grid_step
from ultraopt.hdl.hyperparameters import hdl_type_of
from ultraopt.hdl.parse import CHOICE_NAME, SEPARATOR
from ultraopt.jsonable import plain_scalar

__all__ = ["NodeKind", "SpaceNode", "SpaceTree", "space_tree"]

NodeKind = Literal["root", "group", "choice", "alternative", "hyperparameter", "constant"]


@dataclass
class SpaceNode:
    """One node of a space tree.

    Attributes
    ----------
    kind : str
        ``"root"``; ``"group"`` (a plain sub-space); ``"choice"`` (a conditional choice, its children the
        ``"alternative"`` nodes, in the order of its options); ``"hyperparameter"``; ``"constant"``.
    label : str
        The name at its level (``"C"`` for ``"estimator:svc:C"``).
    name : str
        The flat name in the space (of the ``__choice__`` categorical for a choice; the prefix for groups and
        alternatives; ``""`` for the root).
    hdl_type : str or None
        The HDL ``_type`` of a hyperparameter (``"choice"`` for a conditional choice, ``"constant"``).
    domain : tuple
        The options of a choice or ordinal; ``(low, high)`` or ``(low, high, q)`` of a numerical one; the
        value of a constant.
    default : object
        The default value (the default alternative of a conditional choice).
    conditions : tuple of str
        Conditions beyond "its alternative is chosen", e.g. ``"kernel == 'poly'"``.
    children : list of SpaceNode
    """

    kind: NodeKind
    label: str
    name: str = ""
    hdl_type: str | None = None
    domain: tuple[Any, ...] = ()
    default: Any = None
    conditions: tuple[str, ...] = ()
    children: list[SpaceNode] = field(default_factory=list)


@dataclass
class SpaceTree:
    """A space as a tree, with its forbidden combinations in words (``"a == 'x' and b in [1, 2]"``)."""

    root: SpaceNode
    forbidden: list[str] = field(default_factory=list)


def space_tree(space: ConfigurationSpace | Mapping[str, Any]) -> SpaceTree:
    """Build the tree of ``space`` (an HDL dict is compiled first).

    Parameters
    ----------
    space : ConfigurationSpace or dict

    Returns
    -------
    SpaceTree
    """
    cs = as_config_space(space)
    root = SpaceNode("root", "")
    choices = sorted((name for name in cs if name.split(SEPARATOR)[-1] == CHOICE_NAME), key=_depth)
    # Choices first, outer before inner, so that alternatives exist, in option order, before anything in them.
    for name in choices:
        parts = name.split(SEPARATOR)
        node = _node(_parent_of(root, cs, parts[:-2]), parts[-2], "choice")
        _describe(node, cs, name)
        for option in node.domain:
            _node(node, str(option), "alternative").name = name[: -len(CHOICE_NAME)] + f"{option}{SEPARATOR}"
    for name, hp in cs.items():
        if name in choices:
            continue
        parts = name.split(SEPARATOR)
        leaf = SpaceNode("constant" if isinstance(hp, Constant) else "hyperparameter", parts[-1])
        _parent_of(root, cs, parts[:-1]).children.append(leaf)
        _describe(leaf, cs, name)
    return SpaceTree(root, [_forbidden_words(clause) for clause in cs.forbidden_clauses])


def _depth(name: str) -> int:
    return name.count(SEPARATOR)


def _node(parent: SpaceNode, label: str, kind: NodeKind) -> SpaceNode:
    for child in parent.children:
        if child.label == label and child.kind == kind:
            return child
    child = SpaceNode(kind, label)
    parent.children.append(child)
    return child


def _parent_of(root: SpaceNode, cs: ConfigurationSpace, parts: list[str]) -> SpaceNode:
    """The node holding the names under ``parts``: groups, or a choice and then one of its alternatives."""
    node, index, prefix = root, 0, ""
    while index < len(parts):
        part = parts[index]
        if prefix + part + SEPARATOR + CHOICE_NAME in cs and index + 1 < len(parts):
            choice = _node(node, part, "choice")
            node = _node(choice, parts[index + 1], "alternative")
            prefix += part + SEPARATOR + parts[index + 1] + SEPARATOR
            index += 2
        else:
            node = _node(node, part, "group")
            prefix += part + SEPARATOR
            node.name = prefix
            index += 1
    return node


def _describe(node: SpaceNode, cs: ConfigurationSpace, name: str) -> None:
    hp = cs[name]
    node.name = name
    node.hdl_type = hdl_type_of(hp)
    node.domain = _domain(hp)
    node.default = plain_scalar(hp.value if isinstance(hp, Constant) else hp.default_value)
    node.conditions = tuple(
        words for condition in cs.parent_conditions_of[name] for words in _condition_words(condition, name)
    )


def _domain(hp: Hyperparameter) -> tuple[Any, ...]:
    if isinstance(hp, CategoricalHyperparameter):
        return tuple(plain_scalar(option) for option in hp.choices)
    if isinstance(hp, OrdinalHyperparameter):
        return tuple(plain_scalar(option) for option in hp.sequence)
    if isinstance(hp, Constant):
        return (plain_scalar(hp.value),)
    if isinstance(hp, NumericalHyperparameter):
        bounds = (plain_scalar(hp.lower), plain_scalar(hp.upper))
        # The step as written (an int for integer grids), not grid_step's float.
        return bounds if grid_step(hp) is None else (*bounds, (hp.meta or {})["q"])
    return ()


def _condition_words(condition: Any, child: str) -> list[str]:
    """Conditions in words, leaving out the one the tree shows: the enclosing alternative being chosen."""
    if isinstance(condition, AndConjunction):
        return [words for part in condition.components for words in _condition_words(part, child)]
    if isinstance(condition, EqualsCondition):
        parent = condition.parent.name
        alternative_prefix = f"{parent.removesuffix(CHOICE_NAME)}{condition.value}{SEPARATOR}"
        if parent.endswith(CHOICE_NAME) and child.startswith(alternative_prefix):
            return []
        return [f"{parent} == {plain_scalar(condition.value)!r}"]
    if isinstance(condition, InCondition):
        return [f"{condition.parent.name} in {[plain_scalar(value) for value in condition.values]!r}"]
    if isinstance(condition, OrConjunction):
        return ["(" + " or ".join(" and ".join(_condition_words(part, "")) or "true"
                                  for part in condition.components) + ")"]
    for kind, operator in _COMPARISONS:
        if isinstance(condition, kind):
            return [f"{condition.parent.name} {operator} {plain_scalar(condition.value)!r}"]
    return [str(condition)]


_COMPARISONS = ((NotEqualsCondition, "!="), (LessThanCondition, "<"), (GreaterThanCondition, ">"))
_RELATIONS = ((ForbiddenEqualsRelation, "=="), (ForbiddenLessThanRelation, "<"), (ForbiddenGreaterThanRelation, ">"))


def _forbidden_words(clause: Any) -> str:
    if isinstance(clause, ForbiddenAndConjunction):
        return " and ".join(_forbidden_words(part) for part in clause.components)
    if isinstance(clause, ForbiddenEqualsClause):
        return f"{clause.hyperparameter.name} == {plain_scalar(clause.value)!r}"
    if isinstance(clause, ForbiddenInClause):
        values = [plain_scalar(value) for value in clause.values]
        return f"{clause.hyperparameter.name} in {values!r}"
    for kind, operator in _RELATIONS:
        if isinstance(clause, kind):
            return f"{clause.left.name} {operator} {clause.right.name}"
    return str(clause)
