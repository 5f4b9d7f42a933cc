"""Loading a model file (models/NAME.toml) into a checked Model; every mistake is one line with file:line.

The format is docs/models.md. Checks that need the whole model (references, cycles, patterns) live in
model_checks.py; this module turns TOML tables into schema objects and checks each on its own.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.workload import gens
from sandbox.workload.expr import ExprError, parse
from sandbox.workload.model_checks import check_model
from sandbox.workload.pattern_file import mixes_of, patterns_of
from sandbox.workload.schema import (
    ROLES,
    TYPES,
    Check,
    Children,
    Entity,
    Field,
    FieldType,
    Gen,
    Mix,
    Model,
    Pick,
    Stream,
    Variant,
)
from sandbox.workload.toml_lines import ModelError, Where

FIELD_KEYS = {"type", "scale", "values", "gen", "ref", "pick", "skew", "null_every", "copy", "derive", "parent",
              "hidden", "unique", "nullable", "text", "version"}
ENTITY_KEYS = {"role", "count", "key", "plural", "seed_group", "fields", "stream", "checks"}
TOP_KEYS = {"name", "description", "entity", "pattern", "mix", "variant"}
PICKS = ("uniform", "zipfian", "earlier")


def model_dir(project_dir: Path) -> Path:
    return project_dir / "models"


def available(project_dir: Path) -> list[Path]:
    return sorted(model_dir(project_dir).glob("*.toml"))


def find(project_dir: Path, name_or_path: str) -> Path:
    """A model by name (models/NAME.toml) or by path; unknown: one line naming the choices."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in name_or_path:
        if not candidate.is_file():
            raise UsageError(f"model file {name_or_path} not found; give a path to a .toml file or a model name")
        return candidate
    path = model_dir(project_dir) / f"{name_or_path}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in available(project_dir)) or "none found"
        raise UsageError(f"unknown model {name_or_path!r}: choose from {names} (see `sandbox model list`), "
                         "or give a path to a model file")
    return path


def load(path: Path, known_stores: Collection[str] | None = None) -> Model:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read model file {path}: {exc.strerror}") from None
    return loads(text, path, known_stores)


def loads(text: str, path: Path, known_stores: Collection[str] | None = None) -> Model:
    """A model from its TOML text (`path` names it in messages)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: not valid TOML: {exc}") from None
    where = Where(path, text)
    if bad := sorted(set(raw) - TOP_KEYS):
        raise where.fail((bad[0],), f"unknown key {bad[0]!r}; a model has {', '.join(sorted(TOP_KEYS))}")
    entities_raw = raw.get("entity")
    if not isinstance(entities_raw, Mapping) or not entities_raw:
        raise ModelError(f"{path}:1: no [entity.NAME] tables; a model needs at least one entity")
    entities = {name: _entity(name, spec, where) for name, spec in entities_raw.items()}
    roots = [e.name for e in entities.values() if e.role == "root"]
    if len(roots) != 1:
        raise ModelError(f"{path}:{where.line('entity')}: exactly one entity needs role = \"root\" (the one the "
                         f"write phase writes), found {len(roots)}: {', '.join(roots) or 'none'}")
    patterns = patterns_of(raw.get("pattern", {}), entities, where)
    mixes: dict[str, Mix] = mixes_of(raw.get("mix", {}), patterns, where)
    variants = {name: _variant(name, spec, where, known_stores) for name, spec in raw.get("variant", {}).items()}
    model = Model(str(raw.get("name", path.stem)), str(raw.get("description", "")).strip(), str(path), entities,
                  patterns, mixes, variants, roots[0])
    return check_model(model, where)


def _entity(name: str, spec: Any, where: Where) -> Entity:
    at = ("entity", name)
    if not isinstance(spec, Mapping):
        raise where.fail(at, f"entity {name}: expected a table [entity.{name}]")
    if bad := sorted(set(spec) - ENTITY_KEYS):
        raise where.fail((*at, bad[0]), f"entity {name}: unknown key {bad[0]!r}; expected "
                         f"{', '.join(sorted(ENTITY_KEYS))}")
    role = spec.get("role", "reference")
    if role not in ROLES:
        raise where.fail((*at, "role"), f"entity {name}: role must be one of {', '.join(ROLES)}, got {role!r}")
    count = spec.get("count", 0)
    if role == "reference" and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise where.fail((*at, "count"), f"entity {name}: a reference entity needs count = a whole number >= 1")
    if role != "reference" and "count" in spec:
        raise where.fail((*at, "count"), f"entity {name}: only reference entities have a count (a root's count is "
                         "the run's --orders; a child's count is on its owner's children field)")
    fields_raw = spec.get("fields")
    if not isinstance(fields_raw, Mapping) or not fields_raw:
        raise where.fail(at, f"entity {name}: no fields; add [entity.{name}.fields]")
    members = tuple(_member(name, f, s, where) for f, s in fields_raw.items())
    stream = None
    if (s := spec.get("stream")) is not None:
        if not isinstance(s, Mapping) or "time" not in s:
            raise where.fail((*at, "stream"), f"entity {name}: stream needs time = \"a timestamp field\"")
        stream = Stream(str(s["time"]), tuple(s.get("tags", ())))
    checks = []
    for check_name, text in (spec.get("checks") or {}).items():
        try:
            checks.append(Check(check_name, parse(str(text)), where.line(*at, "checks", check_name)))
        except ExprError as exc:
            raise where.fail((*at, "checks", check_name), f"entity {name}, check {check_name}: {exc}") from None
    default_key = "id" if role != "child" or "id" in fields_raw else ""  # a child without one: its position
    return Entity(name, role, members, where.line(*at), str(spec.get("key", default_key)),
                  str(spec.get("plural") or plural(name)), count if role == "reference" else 0,
                  spec.get("seed_group"), stream, tuple(checks))


def plural(name: str) -> str:
    if name.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    if name.endswith("y") and len(name) > 1 and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def _member(entity: str, name: str, spec: Any, where: Where) -> Field | Children:
    at = ("entity", entity, "fields", name)
    line = where.line(*at)
    if not isinstance(spec, Mapping):
        raise where.fail(at, f"{entity}.{name}: expected an inline table, e.g. {name} = {{ type = \"int\", "
                         "gen = \"uniform\", min = 1, max = 9 }")
    if "children" in spec:
        return _children(entity, name, spec, where, line)
    kind = spec.get("type")
    sources = [k for k in ("gen", "ref", "copy", "derive", "parent") if k in spec]
    if len(sources) != 1:
        raise where.fail(at, f"{entity}.{name}: say where the value comes from with exactly one of gen, ref, copy, "
                         f"derive or parent = true (found {', '.join(sources) or 'none'})")
    if kind is not None and kind not in TYPES:
        raise where.fail((*at, "type"), f"{entity}.{name}: unknown type {kind!r}; choose from {', '.join(TYPES)}")
    if kind is None and sources[0] in ("gen", "derive"):
        raise where.fail(at, f"{entity}.{name}: needs a type (one of {', '.join(TYPES)})")
    ftype = _type(entity, name, spec, kind, where) if kind else FieldType("id")  # refs, copies: set by the checks
    flags = {k: bool(spec.get(k, False)) for k in ("hidden", "unique", "nullable", "version")}
    common: dict[str, Any] = {**flags, "text_search": bool(spec.get("text", False)), "line": line}
    if "gen" in spec:
        params = {k: v for k, v in spec.items() if k not in FIELD_KEYS or (k == "values" and kind != "enum")}
        gen = Gen(str(spec["gen"]), params)
        try:
            gens.build(gen, ftype)
        except gens.GenError as exc:
            raise where.fail(at, f"{entity}.{name}: {exc}") from None
        return Field(name, ftype, gen=gen, **common)
    if "ref" in spec:
        pick = Pick(str(spec.get("pick", "uniform")), float(spec.get("skew", 0.99)), int(spec.get("null_every", 0)))
        if pick.name not in PICKS:
            raise where.fail((*at, "pick"), f"{entity}.{name}: pick must be one of {', '.join(PICKS)}")
        if pick.name == "zipfian" and not 0 < pick.skew < 1:
            raise where.fail((*at, "skew"), f"{entity}.{name}: skew must be above 0 and below 1, got {pick.skew:g}")
        if pick.null_every < 0 or (pick.null_every and pick.name != "earlier"):
            raise where.fail((*at, "null_every"), f"{entity}.{name}: null_every (>= 1) goes with pick = \"earlier\"")
        return Field(name, ftype, ref=str(spec["ref"]), pick=pick,
                     **{**common, "nullable": flags["nullable"] or pick.null_every > 0})
    if "copy" in spec:
        path = tuple(_path(str(spec["copy"])))
        if len(path) < 2:
            raise where.fail((*at, "copy"), f"{entity}.{name}: copy needs a path like customer_id.segment or "
                             "parent.city")
        return Field(name, ftype, copy=path, **common)
    if "derive" in spec:
        try:
            expr = parse(str(spec["derive"]))
        except ExprError as exc:
            raise where.fail((*at, "derive"), f"{entity}.{name}: {exc}") from None
        return Field(name, ftype, derive=expr, **common)
    if spec["parent"] is not True:
        raise where.fail((*at, "parent"), f"{entity}.{name}: parent must be true (the owner's key)")
    return Field(name, ftype, parent_key=True, **common)


def _path(text: str) -> list[str]:
    """customer_id.addresses[0].id -> ["customer_id", "addresses", "0", "id"]"""
    return [p for part in text.replace("]", "").split(".") for p in part.split("[") if p]


def _type(entity: str, name: str, spec: Mapping[str, Any], kind: str, where: Where) -> FieldType:
    at = ("entity", entity, "fields", name)
    if kind == "decimal":
        scale = spec.get("scale")
        if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 18:
            raise where.fail((*at, "scale"), f"{entity}.{name}: a decimal needs scale = digits after the point "
                             "(0 to 18), e.g. scale = 2 for money")
        return FieldType(kind, scale)
    if kind == "enum":
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise where.fail((*at, "values"), f"{entity}.{name}: an enum needs values = [\"a\", \"b\", ...]")
        return FieldType(kind, values=tuple(values))
    return FieldType(kind)


def _children(entity: str, name: str, spec: Mapping[str, Any], where: Where, line: int) -> Children:
    at = ("entity", entity, "fields", name)
    if bad := sorted(set(spec) - {"children", "count", "distinct"}):
        raise where.fail((*at, bad[0]), f"{entity}.{name}: unknown key {bad[0]!r} for a children collection "
                         "(children, count, distinct)")
    raw = spec.get("count", 1)
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0:
            raise where.fail((*at, "count"), f"{entity}.{name}: count must be >= 0")
        count = Gen("constant", {"value": raw})
    elif isinstance(raw, Mapping) and "gen" in raw:
        count = Gen(str(raw["gen"]), {k: v for k, v in raw.items() if k != "gen"})
        if not gens.is_numeric_count(count):
            raise where.fail((*at, "count"), f"{entity}.{name}: count's gen must be a numeric generator "
                             "(constant, uniform, normal, lognormal, zipfian, weighted, choice)")
        try:
            gens.build(count, FieldType("int"))
        except gens.GenError as exc:
            raise where.fail((*at, "count"), f"{entity}.{name} count: {exc}") from None
    else:
        raise where.fail((*at, "count"), f"{entity}.{name}: count is a whole number or a generator table, e.g. "
                         "count = { gen = \"uniform\", min = 1, max = 5 }")
    return Children(name, str(spec["children"]), count, line, spec.get("distinct"))


def _variant(name: str, spec: Any, where: Where, known_stores: Collection[str] | None) -> Variant:
    at = ("variant", name)
    if not isinstance(spec, Mapping) or not isinstance(spec.get("store"), str):
        raise where.fail(at, f"variant {name}: needs store = \"a store name\" and the store's mapping options")
    store = spec["store"]
    if known_stores is not None and store not in known_stores:
        raise where.fail((*at, "store"), f"variant {name}: unknown store {store!r}; choose from "
                         f"{', '.join(sorted(known_stores))}")
    return Variant(name, store, {k: v for k, v in spec.items() if k != "store"}, where.line(*at))
