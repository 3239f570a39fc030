"""The emulated Dropbox routes, by host: RPC on ``api``, uploads on ``content``, longpoll on
``notify``. Each handler takes the emulator and the request and answers the result JSON."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from werkzeug.wrappers import Request

from mycelium_dropbox.emulator.errors import ApiError, bad_input, tag
from mycelium_dropbox.emulator.oauth import OAuthServer
from mycelium_dropbox.emulator.store import ContentHasher, Session, Store


class Emulator(Protocol):
    """What these routes use of the emulator (server.DropboxEmulator)."""

    store: Store
    oauth: OAuthServer
    lock: Any
    corrupt_next: bool
    longpoll_cap: float


MAX_REQUEST_BYTES = 150 * 1024 * 1024
READ = 1024 * 1024
Handler = Callable[["Emulator", Request], Any]


@dataclass(frozen=True)
class Route:
    run: Handler
    auth: bool = True

    def __call__(self, emu: Emulator, request: Request) -> Any:
        return self.run(emu, request)


TABLE: dict[str, dict[str, Route]] = {"api": {}, "content": {}, "notify": {}}


def find(kind: str, route: str) -> Route | None:
    return TABLE[kind].get(route)


def _route(kind: str, name: str, auth: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        TABLE[kind][name] = Route(handler, auth)
        return handler

    return register


def rpc_arg(request: Request, void: bool = False) -> dict[str, Any]:
    """An RPC argument: a JSON body with ``Content-Type: application/json``."""
    raw = request.get_data()
    if void and raw in (b"", b"null"):
        return {}
    if request.mimetype != "application/json":
        raise bad_input(
            f'Error in call to API function: Bad HTTP "Content-Type" header: '
            f'"{request.mimetype}". Expecting "application/json".'
        )
    try:
        arg = json.loads(raw)
    except ValueError:
        raise bad_input(
            "Error in call to API function: request body: could not decode input as JSON"
        ) from None
    if not isinstance(arg, dict):
        raise bad_input("Error in call to API function: request body: expected object")
    return arg


def content_arg(request: Request) -> dict[str, Any]:
    """A content route's argument: the ``Dropbox-API-Arg`` header (or ``arg`` parameter)."""
    if request.mimetype != "application/octet-stream":
        raise bad_input(
            'Error in call to API function: Bad HTTP "Content-Type" header: expecting '
            '"application/octet-stream".'
        )
    header = request.headers.get("Dropbox-API-Arg") or request.args.get("arg")
    if header is None:
        raise bad_input(
            "Error in call to API function: Must provide HTTP header "
            '"Dropbox-API-Arg" or URL parameter "arg".'
        )
    try:
        arg = json.loads(header)
    except ValueError:
        raise bad_input("Error in call to API function: could not decode input as JSON") from None
    if not isinstance(arg, dict):
        raise bad_input("Error in call to API function: expected object")
    return arg


def _read_into(emu: Emulator, request: Request, hasher: ContentHasher) -> None:
    if (request.content_length or 0) > MAX_REQUEST_BYTES:
        raise ApiError(409, "payload_too_large/..", tag("payload_too_large"))
    with emu.lock:
        corrupt, emu.corrupt_next = emu.corrupt_next, False
    while chunk := request.stream.read(READ):
        if corrupt:  # a byte flipped on the way (a test control)
            chunk, corrupt = bytes([chunk[0] ^ 0xFF]) + chunk[1:], False
        hasher.update(chunk)


def _path(arg: dict[str, Any], name: str = "path") -> str:
    value = arg.get(name)
    if not isinstance(value, str):
        raise bad_input(f"Error in call to API function: missing required field '{name}'")
    return value


# ----- API host -----


@_route("api", "auth/token/revoke")
def revoke(emu: Emulator, request: Request) -> Any:
    with emu.oauth.lock:
        emu.oauth.revoke(request.headers.get("Authorization"))
    return None


@_route("api", "users/get_current_account")
def current_account(emu: Emulator, request: Request) -> Any:
    rpc_arg(request, void=True)
    return {
        "account_id": emu.oauth.account_id,
        "name": {
            "given_name": "Avery",
            "surname": "Agency",
            "familiar_name": "Avery",
            "display_name": "Avery Agency",
            "abbreviated_name": "AA",
        },
        "email": "avery@agency.test",
        "email_verified": True,
        "disabled": False,
        "locale": "en",
        "referral_link": "https://db.tt/emulator",
        "is_paired": False,
        "account_type": tag("pro"),
        "root_info": tag("user", root_namespace_id="3235641", home_namespace_id="3235641"),
        "country": "US",
    }


@_route("api", "users/get_space_usage")
def space_usage(emu: Emulator, request: Request) -> Any:
    rpc_arg(request, void=True)
    with emu.store.lock:
        return {
            "used": emu.store.used(),
            "allocation": tag("individual", allocated=emu.store.allocated),
        }


@_route("api", "files/create_folder_v2")
def create_folder(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        return {"metadata": emu.store.make_folder(_path(arg))}


@_route("api", "files/move_v2")
def move(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        meta = emu.store.move(
            _path(arg, "from_path"), _path(arg, "to_path"), bool(arg.get("autorename"))
        )
    return {"metadata": meta}


@_route("api", "files/get_metadata")
def get_metadata(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        found = emu.store.entries.get(_path(arg).lower())
    if found is None:
        raise ApiError(409, "path/not_found/..", tag("path", path=tag("not_found")))
    return found


@_route("api", "files/list_folder")
def list_folder(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        return emu.store.list_folder(_path(arg), bool(arg.get("recursive")))


@_route("api", "files/list_folder/continue")
def list_folder_continue(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        return emu.store.list_continue(_path(arg, "cursor"))


@_route("api", "files/list_folder/get_latest_cursor")
def latest_cursor(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        return {"cursor": emu.store.latest_cursor(_path(arg), bool(arg.get("recursive")))}


@_route("api", "sharing/create_shared_link_with_settings")
def create_shared_link(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    with emu.store.lock:
        return emu.store.shared_link(_path(arg), with_settings=bool(arg.get("settings")))


@_route("api", "sharing/list_shared_links")
def list_shared_links(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request, void=True)
    with emu.store.lock:
        links = emu.store.links
        wanted = arg.get("path")
        found = [link for p, link in links.items() if wanted is None or p == str(wanted).lower()]
    return {"links": found, "has_more": False}


# ----- content host -----


@_route("content", "files/upload")
def upload(emu: Emulator, request: Request) -> Any:
    arg = content_arg(request)
    hasher = ContentHasher()
    _read_into(emu, request, hasher)
    expected = arg.get("content_hash")
    if expected and expected != hasher.hexdigest():
        raise ApiError(409, "content_hash_mismatch/..", tag("content_hash_mismatch"))
    with emu.store.lock:
        return emu.store.commit(arg, hasher)


@_route("content", "files/upload_session/start")
def session_start(emu: Emulator, request: Request) -> Any:
    arg = content_arg(request)
    session = Session(id="pid_upload_session:" + secrets.token_urlsafe(24))
    _read_into(emu, request, session.hasher)
    session.closed = bool(arg.get("close"))
    with emu.store.lock:
        emu.store.sessions[session.id] = session
    return {"session_id": session.id}


def _session(emu: Emulator, cursor: Any, wrap: str | None) -> Session:
    if not isinstance(cursor, dict) or not isinstance(cursor.get("offset"), int):
        raise bad_input("Error in call to API function: missing required field 'cursor'")
    with emu.store.lock:
        session = emu.store.sessions.get(str(cursor.get("session_id")))
    lookup: dict[str, Any] | None = None
    if session is None or session.finished:
        lookup = tag("not_found")
    elif session.offset != cursor["offset"]:
        lookup = tag("incorrect_offset", correct_offset=session.offset)
    elif session.closed and wrap is None:
        lookup = tag("closed")
    if lookup is None:
        assert session is not None
        return session
    summary = f"{lookup['.tag']}/.."
    if wrap:
        raise ApiError(409, f"{wrap}/{summary}", tag(wrap, **{wrap: lookup}))
    raise ApiError(409, summary, lookup)


@_route("content", "files/upload_session/append_v2")
def session_append(emu: Emulator, request: Request) -> Any:
    arg = content_arg(request)
    session = _session(emu, arg.get("cursor"), None)
    _read_into(emu, request, session.hasher)
    session.closed = bool(arg.get("close"))
    return None


@_route("content", "files/upload_session/finish")
def session_finish(emu: Emulator, request: Request) -> Any:
    arg = content_arg(request)
    session = _session(emu, arg.get("cursor"), "lookup_failed")
    _read_into(emu, request, session.hasher)
    commit = arg.get("commit")
    if not isinstance(commit, dict):
        raise bad_input("Error in call to API function: missing required field 'commit'")
    with emu.store.lock:
        meta = emu.store.commit(commit, session.hasher, session.id)
        session.finished = True
    return meta


# ----- notify host -----


@_route("notify", "files/list_folder/longpoll", auth=False)
def longpoll(emu: Emulator, request: Request) -> Any:
    arg = rpc_arg(request)
    timeout = int(arg.get("timeout") or 30)
    if not 30 <= timeout <= 480:
        raise bad_input("Error in call to API function: timeout must be within 30..480")
    deadline = time.monotonic() + min(timeout, emu.longpoll_cap)
    while time.monotonic() < deadline:
        with emu.store.lock:
            if emu.store.changed_since(_path(arg, "cursor")):
                return {"changes": True}
        time.sleep(0.05)
    return {"changes": False}
