"""Message templates: declared variables, a sandboxed engine, language fallback to en."""

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.db import transaction
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, VariableNode
from django.template.defaulttags import ForNode, IfNode

from careos.actors import Actor
from careos.errors import DomainError, NotFoundError
from engagement.models import MessageTemplate
from rbac.models import User
from rbac.services import audit_record

FALLBACK_LANGUAGE = "en"
ContextValue = str | int | float | Decimal


class TemplateError(DomainError):
    code = "template_invalid"
    status = 400
    title = "The template or its variables are invalid"


class TemplateMissingError(NotFoundError):
    code = "template_not_found"
    title = "No active template for this key"


class _SandboxEngine(Engine):
    # No include/extends (loader tags), no loaders, no {% load %}-able libraries: only the
    # default tags and filters over a context of plain values.
    default_builtins: list[str] = []


@lru_cache(maxsize=2)
def _engine(autoescape: bool) -> Engine:
    return _SandboxEngine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        builtins=["django.template.defaulttags", "django.template.defaultfilters"],
        autoescape=autoescape,
        string_if_invalid="",
        debug=False,
    )


@lru_cache(maxsize=512)
def _compile(text: str, autoescape: bool) -> Template:
    return _engine(autoescape).from_string(text)


def _names_in(expression: FilterExpression | None) -> set[str]:
    if expression is None or not hasattr(expression, "var"):
        return set()
    var = expression.var
    lookups = getattr(var, "lookups", None)
    return {lookups[0]} if lookups else set()


def _used_names(nodes: list[Node], bound: frozenset[str] = frozenset()) -> set[str]:
    used: set[str] = set()
    for node in nodes:
        if isinstance(node, VariableNode):
            used |= _names_in(node.filter_expression)
        elif isinstance(node, ForNode):
            used |= _names_in(node.sequence)
            inner = bound | set(node.loopvars) | {"forloop"}
            used |= _used_names(list(node.nodelist_loop), frozenset(inner)) - inner
            used |= _used_names(list(node.nodelist_empty), bound)
            continue
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                used |= _condition_names(condition)
                used |= _used_names(list(nodelist), bound)
            continue
        for attr in getattr(node, "child_nodelists", ()):
            used |= _used_names(list(getattr(node, attr, None) or []), bound)
    return used - bound


def _condition_names(condition: object) -> set[str]:
    if condition is None:
        return set()
    names: set[str] = set()
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        names |= _names_in(value)
    for attr in ("first", "second"):
        names |= _condition_names(getattr(condition, attr, None))
    return names


def template_check_text(*, text: str, variables: list[str]) -> None:
    """Raise ``TemplateError`` unless ``text`` compiles and uses only declared variables."""
    if not text:
        return
    try:
        compiled = _engine(False).from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template syntax error: {exc}") from exc
    undeclared = sorted(_used_names(list(compiled.nodelist)) - set(variables))
    if undeclared:
        raise TemplateError(f"Undeclared variables: {', '.join(undeclared)}.")


def _clean_context(*, context: dict[str, object], variables: list[str]) -> dict[str, ContextValue]:
    undeclared = sorted(set(context) - set(variables))
    if undeclared:
        raise TemplateError(f"Undeclared variables: {', '.join(undeclared)}.")
    clean: dict[str, ContextValue] = {}
    for name, value in context.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise TemplateError(f"Variable {name} must be a string or a number.")
        clean[name] = value
    return clean


@dataclass(frozen=True)
class Rendered:
    template_key: str
    language: str
    subject: str
    body: str
    html_body: str


def template_get(*, key: str, language: str) -> MessageTemplate:
    """The active template for ``key`` in ``language``, else in English."""
    found = {
        t.language: t
        for t in MessageTemplate.objects.filter(
            key=key, language__in={language, FALLBACK_LANGUAGE}, is_active=True
        )
    }
    template = found.get(language) or found.get(FALLBACK_LANGUAGE)
    if template is None:
        raise TemplateMissingError(f"No active template {key!r}.")
    return template


def template_render_obj(*, template: MessageTemplate, context: dict[str, object]) -> Rendered:
    values = _clean_context(context=context, variables=list(template.variables))
    plain = Context(values, autoescape=False)
    return Rendered(
        template_key=template.key,
        language=template.language,
        subject=_compile(template.subject, False).render(plain).strip() if template.subject else "",
        body=_compile(template.body, False).render(plain).strip(),
        html_body=(
            _compile(template.html_body, True).render(Context(values)) if template.html_body else ""
        ),
    )


def template_render(*, key: str, language: str, context: dict[str, object]) -> Rendered:
    return template_render_obj(template=template_get(key=key, language=language), context=context)


def template_preview(*, template: MessageTemplate) -> Rendered:
    """Render with each declared variable shown as ``[name]``."""
    return template_render_obj(
        template=template, context={name: f"[{name}]" for name in template.variables}
    )


@transaction.atomic
def template_save(
    *,
    actor: Actor | User,
    key: str,
    language: str,
    body: str,
    variables: list[str],
    subject: str = "",
    html_body: str = "",
    description: str = "",
    is_active: bool = True,
    template: MessageTemplate | None = None,
) -> MessageTemplate:
    """Create (``template`` None) or update a template after checking its text."""
    template = template or MessageTemplate(key=key, language=language)
    created = template.pk is None
    template.key, template.language = key, language
    template.body, template.subject, template.html_body = body, subject, html_body
    template.variables, template.description, template.is_active = (
        variables,
        description,
        is_active,
    )
    for text in (subject, body, html_body):
        template_check_text(text=text, variables=variables)
    if MessageTemplate.objects.filter(key=key, language=language).exclude(pk=template.pk).exists():
        raise TemplateError(f"A template {key!r} in {language!r} exists.", code="template_exists")
    template.save()
    audit_record(
        actor=actor,
        action="engagement.template." + ("created" if created else "updated"),
        target_type="engagement.template",
        target_ref=template.public_id,
        metadata={"key": key, "language": language},
    )
    return template
