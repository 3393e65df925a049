"""HDL, the dict-based search-space language, and configs of a space as plain data.

An HDL is a dict. A key maps to

- a **constant**, any JSON scalar: ``"random_state": 42``, ``"verbose": False``, ``"cache": None``;
- a **sub-space**, a nested dict; flat names join the keys with ``:`` (``{"a": {"b": ...}}`` gives ``"a:b"``);
- a **hyperparameter** ``{"_type": T, "_value": V, "_default": D}`` (``_default`` optional; any valid value,
  ``0``, ``False`` and ``None`` included, is a default):

  - ``choice``: a list of JSON scalars, categorical (``1`` and ``True`` cannot both be options);
  - ``ordinal``: an ordered list;
  - ``uniform``, ``loguniform``: ``[low, high]``, a float (log scale: ``low > 0``);
  - ``quniform``, ``qloguniform``: ``[low, high, q]``, a float on the grid ``low + k*q``;
  - ``int_uniform``, ``int_loguniform``: ``[low, high]``, an integer;
  - ``int_quniform``, ``int_qloguniform``: ``[low, high, q]``, an integer on the grid ``low + k*q``.

  ``q`` is never guessed and ``high - low`` must be a whole multiple of it;
- a **conditional choice** ``"name(choice)": {"A": {...}, "B": {}, "_default": "B"}``: a categorical
  ``name:__choice__`` whose value activates the matching sub-space (hyperparameters ``name:A:...``), to any
  depth; ``{}`` is an alternative without hyperparameters; ``_default`` (optional) names the default
  alternative, else the first is.

Special keys, at any level, name hyperparameters relative to that level (``"svc:kernel"`` reaches deeper; a
conditional choice is named ``"kernel(choice)"`` or ``"kernel"``):

- ``"__activate": {"parent": {value: ["child", ...]}}``: a child listed under some values is active only
  when the parent takes one of them;
- ``"__condition": [{"_child": "c", "_parent": "p", "_values": [v, ...]}]``: the same, one child at a time;
- ``"__forbidden": [{"a": "x", "b": [1, 2]}]``: each dict is a forbidden combination, here ``a == "x"`` *and*
  ``b in {1, 2}``. The default configuration must be allowed: where a forbidden combination holds for the
  defaults, a hyperparameter of it without a written ``_default`` defaults to an allowed value instead.

Parents and forbidden names are choices, ordinals or integers. A child with several conditions is active
when all hold. Names must not contain ``:`` or parentheses nor start with ``_``. A malformed HDL raises
:class:`HDLError`, a ``ValueError`` naming the key path (``"estimator(choice):svc:C"``). Nothing is ever
evaluated: the JSON forms are read with :mod:`json` only.
"""

from ultraopt.hdl.compile import as_config_space, hdl2cs
from ultraopt.hdl.configs import check_config, config_key, plain_config, sample_configs
from ultraopt.hdl.draw import draw_space
from ultraopt.hdl.errors import HDLError
from ultraopt.hdl.layering import layering_config
from ultraopt.hdl.serialize import hdl_from_json, hdl_to_json, space_from_json, space_to_json
from ultraopt.hdl.tree import SpaceNode, SpaceTree, space_tree

__all__ = [
    "HDLError",
    "SpaceNode",
    "SpaceTree",
    "as_config_space",
    "check_config",
    "config_key",
    "draw_space",
    "hdl2cs",
    "hdl_from_json",
    "hdl_to_json",
    "layering_config",
    "plain_config",
    "sample_configs",
    "space_from_json",
    "space_to_json",
    "space_tree",
]
