"""`hub up --sandbox`: every installed plugin's provider emulator on loopback, the plugins'
settings pointed at them for the web and worker processes, and a demo organization with
people, service types, clients and deliverables (due soon, overdue) to watch them work.

Nothing here runs without ``--sandbox``: the plugins' settings keep their real defaults.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from hub.plugins import Plugins
from hub.provider import SandboxServer

LOOPBACK = ("127.0.0.1", "::1", "localhost")
# Egress to the emulators: plain http on loopback (the guard refuses both otherwise).
EGRESS = {"HUB_EGRESS_ALLOW_HTTP": "true", "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8,::1/128"}
MERGED = ("HUB_EGRESS_ALLOWED_CIDRS",)  # settings several sandboxes may add values to

# The demo organization's people (the chat sandbox's workspace has the same addresses).
PEOPLE = (
    ("ana@demo-agency.example", "Ana Lima", "member"),
    ("ben@demo-agency.example", "Ben Okafor", "member"),
)
SERVICES = ("Web Design", "SEO", "Social Media")
CLIENTS = (
    ("Northwind Bakery", "Maria Anders", "maria@northwind.example", ("Web Design", "SEO")),
    ("Blue Harbor Dental", "Tom Reyes", "tom@blueharbor.example", ("Social Media",)),
)
# (client, title, service, assignee email, hours from now, priority)
DELIVERABLES = (
    ("Northwind Bakery", "Homepage mockups", "Web Design", "ana@", 20, "high"),
    ("Northwind Bakery", "Monthly SEO report", "SEO", "ben@", -48, "normal"),
    ("Blue Harbor Dental", "Instagram content calendar", "Social Media", "ana@", 6 * 24, "low"),
    ("Blue Harbor Dental", "Launch campaign visuals", "Social Media", "admin@", -5, "urgent"),
)


class SandboxRefused(Exception):
    """The sandbox cannot run as asked (a host other than loopback, clashing settings)."""


@dataclass
class Running:
    name: str
    title: str
    server: SandboxServer
    page: str
    demo_config: dict[str, Any]

    @property
    def page_url(self) -> str:
        return self.server.url.rstrip("/") + self.page


def check_host(host: str) -> None:
    if host not in LOOPBACK:
        raise SandboxRefused(
            f"--sandbox serves on loopback only (127.0.0.1, ::1), not {host!r}: its "
            "emulators hold no real accounts and its settings let the hub call plain http"
        )


def start_all(plugins: Plugins, hub_url: str) -> list[Running]:
    """Start each plugin's sandbox on 127.0.0.1; one that serves elsewhere is refused."""
    running: list[Running] = []
    try:
        for name, sandbox in sorted(plugins.sandboxes().items()):
            server = sandbox.start("127.0.0.1", hub_url)
            config = dict(sandbox.demo_config)
            running.append(Running(name, sandbox.title, server, sandbox.page, config))
            if urlsplit(server.url).hostname not in LOOPBACK:
                raise SandboxRefused(f"plugin {name!r}: its sandbox serves at {server.url}")
    except BaseException:
        stop_all(running)
        raise
    return running


def stop_all(running: list[Running]) -> None:
    for each in running:
        with contextlib.suppress(Exception):  # stopping the others matters more
            each.server.stop()


def environment(running: list[Running]) -> dict[str, str]:
    """The settings the web and worker processes get: each sandbox's, the loopback egress,
    and ``HUB_SANDBOX_PAGES`` (the console's Sandbox banner)."""
    env = dict(EGRESS)
    for each in running:
        for key, value in each.server.settings().items():
            if key in MERGED:
                values = [*env.get(key, "").split(","), *value.split(",")]
                env[key] = ",".join(dict.fromkeys(v.strip() for v in values if v.strip()))
            elif key in env and env[key] != value:
                raise SandboxRefused(f"the sandboxes of two plugins set {key} differently")
            else:
                env[key] = value
    env["HUB_SANDBOX_PAGES"] = json.dumps({each.name: each.page_url for each in running})
    return env


def _call(method: str, url: str, key: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _items(base: str, key: str, path: str) -> list[dict[str, Any]]:
    status, body = _call("GET", f"{base}{path}", key)
    if status != 200:
        raise SandboxRefused(f"GET {path} answered {status}: {body}")
    return list(body["items"])


def _create(base: str, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = _call("POST", f"{base}{path}", key, body)
    if status != 201:
        raise SandboxRefused(f"POST {path} answered {status}: {answer}")
    return dict(answer)


def configure_demo(base: str, key: str, running: list[Running]) -> None:
    """Each sandbox's ``demo_config`` for an integration that has no config yet."""
    configured = {i["plugin"] for i in _items(base, key, "/api/integrations") if i.get("config")}
    for each in running:
        if each.demo_config and each.name not in configured:
            status, answer = _call(
                "PUT", f"{base}/api/integrations/{each.name}", key, each.demo_config
            )
            if status != 200:
                raise SandboxRefused(f"{each.name}'s demo config was refused: {answer}")


def seed_demo(base: str, key: str, running: list[Running]) -> bool:
    """People, service types, clients and deliverables for the demo organization, through
    the public API (so events are emitted as for anything an admin adds); once: an
    organization that has clients is left alone. Whether it seeded."""
    configure_demo(base, key, running)
    if _items(base, key, "/api/clients"):
        return False
    known = {u["email"]: u for u in _items(base, key, "/api/users")}
    for email, name, role in PEOPLE:
        if email not in known:
            known[email] = _create(
                base, key, "/api/users", {"email": email, "name": name, "role": role}
            )
    services = {s["name"]: s for s in _items(base, key, "/api/service-types")}
    for name in SERVICES:
        if name not in services:
            services[name] = _create(base, key, "/api/service-types", {"name": name})
    clients = {}
    for name, contact, email, wanted in CLIENTS:
        body = {
            "name": name,
            "contact_person": contact,
            "contact_email": email,
            "service_type_ids": [services[s]["id"] for s in wanted],
        }
        clients[name] = _create(base, key, "/api/clients", body)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for client, title, service, who, hours, priority in DELIVERABLES:
        assignee = next(u for email, u in known.items() if email.startswith(who))
        body = {
            "client_id": clients[client]["id"],
            "title": title,
            "service_type_id": services[service]["id"],
            "assignee_id": assignee["id"],
            "due_at": (start + timedelta(hours=hours)).isoformat(),
            "priority": priority,
        }
        _create(base, key, "/api/deliverables", body)
    return True
