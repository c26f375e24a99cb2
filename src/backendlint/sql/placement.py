"""Where does an interpolated value land in a SQL statement? The statement was parsed
with a marker identifier in place of each value; this finds the marker in the tree."""
from __future__ import annotations

VALUE = "value"  # a literal or operand position: the classic injection
IDENTIFIER = "identifier"  # a table or column name: cannot be a bound parameter
FRAGMENT = "fragment"  # part of the SQL syntax itself (keywords, whole clauses)


def placement(tree, marker: str) -> str:
    """VALUE, IDENTIFIER or FRAGMENT for the marker's position in a sqlglot tree."""
    from sqlglot import exp

    if tree is None:
        return FRAGMENT
    for node in tree.walk():
        if isinstance(node, exp.Literal):
            if marker in str(node.this):
                return VALUE  # inside quotes, or a number position
            continue
        if not isinstance(node, (exp.Identifier, exp.Var)):
            continue
        name = str(node.this)
        if marker not in name:
            continue
        if getattr(node, "quoted", False) or name != marker:
            return IDENTIFIER  # part of a longer name, e.g. logs_{year}
        parent = node.parent
        if isinstance(parent, exp.Column) and parent.this is node and not parent.table:
            return _context(parent, IDENTIFIER)
        if isinstance(parent, (exp.Table, exp.Column, exp.TableAlias, exp.Alias, exp.Schema)):
            return IDENTIFIER
        return _context(node, FRAGMENT)
    return FRAGMENT


def _context(node, default: str) -> str:
    """What SQL expects where this bare name stands: a value (right of a comparison, in
    a VALUES row, IN list, LIMIT), a name (left of a comparison, ORDER BY, select list),
    or a whole condition (`WHERE {cond}`: a fragment)."""
    from sqlglot import exp

    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, (exp.Where, exp.Having, exp.And, exp.Or, exp.Not)) and child is node:
            return FRAGMENT
        if isinstance(parent, (exp.Ordered, exp.Order, exp.Group, exp.Select, exp.Table,
                               exp.Schema, exp.ColumnDef)):
            return IDENTIFIER
        if isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch, exp.Values, exp.In,
                               exp.Between, exp.Tuple)):
            return VALUE if parent.this is not child or isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch, exp.Values, exp.Tuple)) else IDENTIFIER
        if isinstance(parent, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe, exp.Paren,
                               exp.Cast, exp.Neg)):
            child, parent = parent, parent.parent  # arithmetic keeps the operand's role
            continue
        if isinstance(parent, (exp.Binary, exp.Predicate)):
            return VALUE if parent.args.get("expression") is child else IDENTIFIER
        if isinstance(parent, exp.Update):
            return VALUE
        child, parent = parent, parent.parent
    return default
