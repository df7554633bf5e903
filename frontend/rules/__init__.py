"""The Relax op rules, one module per op family; importing this package registers them all (``frontend.registry``).

Adding support for an op is adding one ``register(...)`` line to the module of its family (or a new module,
imported here). An op with no rule is legalised by TVM to TensorIR and described from its loop nest.
"""

from . import contraction, elementwise, experts, movement, reduction, tensorir  # noqa: F401
