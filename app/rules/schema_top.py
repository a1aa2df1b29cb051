"""`departments.yaml` (defaults, departments, webhooks) and `connectors.yaml`."""

from __future__ import annotations

from yaml.nodes import Node

from app.kernel.vocabulary import EVENT_TYPES, PRIORITIES
from app.rules.model import CONNECTOR_KINDS, Connector, Defaults, Department, Webhook
from app.rules.refs import Refs, env_name, ident
from app.rules.shapes import (
    CONNECTOR,
    CONNECTOR_ACCOUNT_KEYS,
    CONNECTOR_ENV_KEYS,
    CONNECTOR_KEYS,
    CONNECTORS_FILE,
    DEFAULTS,
    DEPARTMENT,
    DEPARTMENTS_FILE,
    MAX_BODY_BYTES_RANGE,
    WEBHOOK,
)
from app.rules.yamlnodes import YamlFile, boolean, entries, integer, mapping_items, sequence, string, strings


def read_departments(f: YamlFile, refs: Refs) -> tuple[Defaults | None, dict[str, Department]]:
    """Defaults and departments; references to calendars, policies and departments go to `refs`."""
    departments: dict[str, Department] = {}
    if f.root is None:
        f.empty("empty file: expected 'defaults' and 'departments'")
        return None, departments
    top = entries(f, f.root, "departments.yaml", required=DEPARTMENTS_FILE.required_keys)
    if top is None:
        return None, departments
    defaults = _defaults(f, top["defaults"][1], refs) if "defaults" in top else None
    if "departments" in top:
        for node in sequence(f, top["departments"][1], "departments") or []:
            dept = _department(f, node, refs)
            if dept is not None:
                departments[dept.id] = dept
    return defaults, departments


def _defaults(f: YamlFile, node: Node, refs: Refs) -> Defaults | None:
    keys = entries(f, node, "defaults", required=DEFAULTS.required_keys)
    if keys is None:
        return None
    values = {k: string(f, v, f"defaults.{k}") for k, (_, v) in keys.items()}
    if values.get("department"):
        refs.need("department", str(values["department"]), f, keys["department"][1])
    if values.get("sla_policy"):
        refs.need("sla_policy", str(values["sla_policy"]), f, keys["sla_policy"][1])
    if values.get("priority") and values["priority"] not in PRIORITIES:
        f.error(keys["priority"][1], f"defaults.priority: '{values['priority']}' is not one of {', '.join(PRIORITIES)}")
        return None
    if any(values.get(k) is None for k in ("department", "category", "priority", "sla_policy")):
        return None
    return Defaults(str(values["department"]), str(values["category"]), str(values["priority"]),
                    str(values["sla_policy"]))


def _department(f: YamlFile, node: Node, refs: Refs) -> Department | None:
    keys = entries(f, node, "department", required=DEPARTMENT.required_keys,
                   optional=DEPARTMENT.optional_keys)
    if keys is None or "id" not in keys:
        return None
    id_node = keys["id"][1]
    dept_id = ident(f, id_node, string(f, id_node, "department id"), "department id")
    if dept_id is None or not refs.define("department", dept_id, f, id_node):
        return None
    what = f"department '{dept_id}'"
    calendar = string(f, keys["calendar"][1], f"{what}: calendar") if "calendar" in keys else None
    if calendar is not None:
        refs.need("calendar", calendar, f, keys["calendar"][1])
    name = string(f, keys["name"][1], f"{what}: name") if "name" in keys else dept_id
    webhook = _webhook(f, keys["webhook"][1], what) if "webhook" in keys else None
    return Department(dept_id, name or dept_id, calendar or "", webhook)


def _webhook(f: YamlFile, node: Node, what: str) -> Webhook | None:
    keys = entries(f, node, f"{what}: webhook", required=WEBHOOK.required_keys,
                   optional=WEBHOOK.optional_keys)
    if keys is None or "url" not in keys or "secret_env" not in keys:
        return None
    url = string(f, keys["url"][1], f"{what}: webhook url")
    if url is not None and not url.startswith(("https://", "http://")):
        f.error(keys["url"][1], f"{what}: webhook url must start with https:// or http://")
    env = {k: env_name(f, keys[k][1], string(f, keys[k][1], f"{what}: {k}"), f"{what}: {k}")
           for k in ("secret_env", "previous_secret_env") if k in keys}
    events: tuple[str, ...] | None = None
    if "events" in keys:
        found = strings(f, keys["events"][1], f"{what}: webhook events")
        for event, event_node in found:
            if event not in EVENT_TYPES:
                f.error(event_node, f"{what}: unknown event type '{event}' (known: {', '.join(EVENT_TYPES)})")
        events = tuple(e for e, _ in found)
    if url is None or env.get("secret_env") is None:
        return None
    return Webhook(url, str(env["secret_env"]), env.get("previous_secret_env"), events)


def read_connectors(f: YamlFile, refs: Refs) -> dict[str, Connector]:
    """The connectors, each checked against the keys its kind needs and allows."""
    out: dict[str, Connector] = {}
    if f.root is None:
        return out
    top = entries(f, f.root, "connectors.yaml", required=CONNECTORS_FILE.required_keys)
    if top is None or "connectors" not in top:
        return out
    for node in sequence(f, top["connectors"][1], "connectors") or []:
        connector = _connector(f, node, refs)
        if connector is not None:
            out[connector.name] = connector
    return out


def _connector(f: YamlFile, node: Node, refs: Refs) -> Connector | None:
    keys = entries(f, node, "connector", required=CONNECTOR.required_keys,
                   optional=CONNECTOR.optional_keys)
    if keys is None or "name" not in keys or "kind" not in keys:
        return None
    name = ident(f, keys["name"][1], string(f, keys["name"][1], "connector name"), "connector name")
    kind = string(f, keys["kind"][1], "connector kind")
    if name is None or kind is None or not refs.define("connector", name, f, keys["name"][1]):
        return None
    if kind not in CONNECTOR_KEYS:
        f.error(keys["kind"][1], f"connector '{name}': unknown kind '{kind}' (known: {', '.join(CONNECTOR_KINDS)})")
        return None
    required, optional = CONNECTOR_KEYS[kind]
    ok = True
    for key, (key_node, _) in keys.items():
        if key not in ("name", "kind", *required, *optional, *CONNECTOR_ACCOUNT_KEYS):
            f.error(key_node, f"connector '{name}': kind '{kind}' does not use '{key}' "
                              f"(it takes: {', '.join((*required, *optional))})")
            ok = False
    for key in required:
        if key not in keys:
            f.error(node, f"connector '{name}': kind '{kind}' needs '{key}'")
            ok = False
    env: dict[str, str | None] = {}
    for key in CONNECTOR_ENV_KEYS:
        if key in keys:
            value_node = keys[key][1]
            env[key] = env_name(f, value_node, string(f, value_node, f"connector '{name}': {key}"),
                                f"connector '{name}': {key}")
            ok = ok and env[key] is not None
    retweets = boolean(f, keys["include_retweets"][1], f"connector '{name}': include_retweets") \
        if "include_retweets" in keys else False
    accounts = _accounts(f, keys["accounts"][1], name) if "accounts" in keys else {}
    account = string(f, keys["account"][1], f"connector '{name}': account") if "account" in keys else None
    max_body = _max_body_bytes(f, keys["max_body_bytes"][1], name) if "max_body_bytes" in keys else None
    if not ok or retweets is None or accounts is None or ("account" in keys and not account) \
            or ("max_body_bytes" in keys and max_body is None):
        return None
    return Connector(name=name, kind=kind, include_retweets=retweets, account=account, accounts=accounts,
                     max_body_bytes=max_body, **env)


def _accounts(f: YamlFile, node: Node, connector: str) -> dict[str, str] | None:
    """`accounts: {"<account id>": "Display name"}`: ids as written (a number keeps its digits),
    names not empty."""
    what = f"connector '{connector}': accounts"
    items = mapping_items(f, node, what)
    if items is None:
        return None
    out: dict[str, str] = {}
    for key, value in items:
        name = string(f, value, f"{what}: '{key.value}'")
        if not key.value.strip():
            f.error(key, f"{what}: an account id may not be empty")
        elif name is not None and not name.strip():
            f.error(value, f"{what}: '{key.value}' needs a display name")
        elif name is not None:
            out.setdefault(key.value, name.strip())
    return out


def _max_body_bytes(f: YamlFile, node: Node, name: str) -> int | None:
    value = integer(f, node, f"connector '{name}': max_body_bytes")
    low, high = MAX_BODY_BYTES_RANGE
    if value is not None and not low <= value <= high:
        f.error(node, f"connector '{name}': max_body_bytes must be between {low} and {high} bytes")
        return None
    return value
