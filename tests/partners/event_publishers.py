"""Which event types the code publishes, read from the source (no code is run).

A publisher is a call of ``publish_event(event_type=…)`` or ``event_type_get(name=…)`` (how an
event row is made without ``publish_event``), or of a function that passes one of its own
parameters on as that argument (``payments.services.common.event_publish``), found
transitively. The argument resolves to the names it can take: a string literal; a module
constant, also imported from another module; a local variable assigned one of those (also
by tuple unpacking); every
value of a module-level dict read with ``[...]`` or ``.get(key, default)`` (and the default).
Anything else is reported as unresolvable, so a new dynamic publisher fails the catalog test
until it is written in one of these shapes.
"""

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("careos", "rbac", "engagement", "partners", "payments", "leads", "support", "connectors")
ENTRY_POINTS = {"publish_event": ("event_type", 0), "event_type_get": ("name", 0)}


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Scan:
    published: dict[str, set[str]] = field(default_factory=dict)  # type name → where
    unresolved: list[str] = field(default_factory=list)


class _Unresolvable(Exception):
    pass


class _Parameter(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _modules(root: Path, apps: tuple[str, ...]) -> dict[str, Module]:
    modules = {}
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            module = Module(name=name, path=path, tree=ast.parse(path.read_text()))
            for node in module.tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name):
                        module.constants[target.id] = node.value
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    if node.value is not None:
                        module.constants[node.target.id] = node.value
                elif isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        module.imports[alias.asname or alias.name] = (node.module, alias.name)
            modules[name] = module
    return modules


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def _parameters(function: ast.FunctionDef) -> list[str]:
    arguments = function.args
    return [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]


class _Resolver:
    def __init__(self, modules: dict[str, Module]) -> None:
        self.modules = modules

    def names(self, expr: ast.expr, module: Module, function: ast.FunctionDef | None) -> set[str]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.Name):
            return self._name(expr.id, module, function)
        if isinstance(expr, ast.Subscript):
            return self._dict_values(expr.value, module, function)
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "get"
            and len(expr.args) == 2
        ):
            return self._dict_values(expr.func.value, module, function) | self.names(
                expr.args[1], module, function
            )
        raise _Unresolvable(ast.unparse(expr))

    def _name(self, name: str, module: Module, function: ast.FunctionDef | None) -> set[str]:
        if function is not None:
            assigned = _local_assignments(name, function)
            if assigned:
                return set().union(*(self.names(v, module, function) for v in assigned))
            if name in _parameters(function):
                raise _Parameter(name)
        return self.names(self._constant(name, module), module, None)

    def _constant(self, name: str, module: Module) -> ast.expr:
        if name in module.constants:
            return module.constants[name]
        if name in module.imports:
            source, original = module.imports[name]
            if source in self.modules:
                return self._constant(original, self.modules[source])
        raise _Unresolvable(name)

    def _dict_values(
        self, expr: ast.expr, module: Module, function: ast.FunctionDef | None
    ) -> set[str]:
        if not isinstance(expr, ast.Name):
            raise _Unresolvable(ast.unparse(expr))
        value = self._constant(expr.id, module)
        if not isinstance(value, ast.Dict):
            raise _Unresolvable(expr.id)
        return set().union(*(self.names(v, module, None) for v in value.values))


def _local_assignments(name: str, function: ast.FunctionDef) -> list[ast.expr]:
    """The values ``function`` assigns to the local ``name`` (``name = v``, or
    ``name, other = v, w``); any other binding of it (a loop, ``+=``, unpacking of a value that
    is not a literal tuple) makes it unresolvable rather than silently ignored."""
    values = []
    read: set[int] = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id == name:
                values.append(node.value)
                read.add(id(target))
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for element, value in zip(target.elts, node.value.elts, strict=False):
                    if isinstance(element, ast.Name) and element.id == name:
                        values.append(value)
                        read.add(id(element))
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Name)
            and node.id == name
            and isinstance(node.ctx, ast.Store)
            and id(node) not in read
        ):
            raise _Unresolvable(f"{name} (bound at line {node.lineno})")
    return values


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _argument(call: ast.Call, keyword: str, position: int | None) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def scan(root: Path = ROOT, apps: tuple[str, ...] = APPS) -> Scan:
    """Every event type name the apps under ``root`` publish, with where."""
    modules = _modules(root, apps)
    resolver = _Resolver(modules)
    publishers = dict(ENTRY_POINTS)
    result = Scan()
    changed = True
    while changed:  # until no new wrapper of a publisher is found
        changed = False
        result = Scan()
        for module in modules.values():
            for function in [None, *_functions(module.tree)]:
                body = module.tree if function is None else function
                for call in ast.walk(body):
                    if not isinstance(call, ast.Call):
                        continue
                    called = _called_name(call)
                    if called not in publishers or (
                        function is None and _inside_function(call, module.tree)
                    ):
                        continue
                    expr = _argument(call, *publishers[called])
                    if expr is None:
                        continue
                    where = f"{module.name}:{call.lineno}"
                    try:
                        names = resolver.names(expr, module, function)
                    except _Parameter as parameter:
                        wrapper = function.name if function else ""
                        if wrapper and wrapper not in publishers:
                            params = _parameters(function)
                            kwonly = [a.arg for a in function.args.kwonlyargs]
                            position = (
                                None if parameter.name in kwonly else params.index(parameter.name)
                            )
                            publishers[wrapper] = (parameter.name, position)
                            changed = True
                        continue
                    except _Unresolvable as exc:
                        result.unresolved.append(f"{where}: {exc}")
                        continue
                    for name in names:
                        result.published.setdefault(name, set()).add(where)
    return result


def _inside_function(node: ast.AST, tree: ast.Module) -> bool:
    return any(node in set(ast.walk(function)) for function in _functions(tree))
