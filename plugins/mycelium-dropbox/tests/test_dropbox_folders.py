"""Folder trees: the organization's on connect, a client's on client.created (with its
service types and a team link), kept true when the client is renamed or deleted, made
again without failing or duplicating, from names made valid Dropbox path components."""

from __future__ import annotations

import pytest
from dropbox_helpers import ROOT, connect, events_of, make_client, make_service_type
from mycelium_dropbox import names

from hub.testing import run_jobs

CLIENT_SUBS = ("Final Deliverables", "Work in Progress", "Raw Files", "Archive", "Client Resources")


def test_the_org_tree_has_a_folder_per_service_type(app, client, api, dropbox, hub_clock):
    make_service_type(api, "Video")
    make_service_type(api, "Web/Apps")
    connect(client, api, dropbox)
    run_jobs(app)
    folders = set(dropbox.paths("folder"))
    for parent in ("Team Resources", "Templates"):
        assert {f"{ROOT}/{parent}/Video", f"{ROOT}/{parent}/Web Apps"} <= folders


def test_hook_on_client_created(app, api, connected):
    video = make_service_type(api, "Video")
    globex = make_client(api, "Globex", service_type_ids=[video["id"]])
    run_jobs(app)
    base = f"{ROOT}/Clients/Globex"
    folders = set(connected.paths("folder"))
    assert {base, *(f"{base}/{sub}" for sub in CLIENT_SUBS)} <= folders
    assert {f"{base}/Final Deliverables/Video", f"{base}/Work in Progress/Video"} <= folders
    shown = api.get(f"/api/integrations/dropbox/clients/{globex['id']}")
    assert shown.status_code == 200
    body = shown.json
    assert body["path"] == base and body["client_id"] == globex["id"]
    assert body["shared_link"].startswith("https://www.dropbox.com/")
    assert body["created_at"]
    [event] = events_of(api, "dropbox.client_folder_created")
    assert event == {"client_id": globex["id"], "path": base, "shared_link": body["shared_link"]}


def test_a_second_run_and_a_reconnect_neither_fail_nor_duplicate(app, client, api, connected):
    globex = make_client(api, "Globex")
    run_jobs(app)
    before = connected.paths()
    link = api.get(f"/api/integrations/dropbox/clients/{globex['id']}").json["shared_link"]
    connect(client, api, connected)  # reconnect: the set-up runs again over what exists
    run_jobs(app)
    assert connected.paths() == before
    again = api.get(f"/api/integrations/dropbox/clients/{globex['id']}").json
    assert again["shared_link"] == link  # the existing link, not a new one
    assert len(events_of(api, "dropbox.client_folder_created")) == 1
    assert any(
        c["route"] == "sharing/create_shared_link_with_settings"
        for c in connected.calls()
        if c["arg"] == {"path": f"{ROOT}/Clients/Globex"}
    )
    runs = api.get("/api/integrations/runs?plugin=dropbox").json["items"]
    assert runs and all(r["state"] == "succeeded" for r in runs)


def test_clients_made_before_connecting_get_their_tree_on_connect(
    app, client, api, dropbox, hub_clock
):
    make_client(api, "Early Bird")
    run_jobs(app)
    assert dropbox.calls() == []
    connect(client, api, dropbox)
    run_jobs(app)
    assert f"{ROOT}/Clients/Early Bird/Raw Files" in dropbox.paths("folder")


def test_names_that_clean_to_the_same_folder_get_distinct_folders(app, api, connected):
    first = make_client(api, "A/B")
    second = make_client(api, "A\\B")
    run_jobs(app)
    one = api.get(f"/api/integrations/dropbox/clients/{first['id']}").json["path"]
    two = api.get(f"/api/integrations/dropbox/clients/{second['id']}").json["path"]
    assert one == f"{ROOT}/Clients/A B"
    assert two == f"{ROOT}/Clients/A B ({second['id']})"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Acme / Co.", "Acme Co"),
        ("trailing dots...", "trailing dots"),
        ("tab\tand\x01control", "tab and control"),
        ("..", "Untitled"),
        ("   ", "Untitled"),
        ("é" * 300, "é" * 255),
    ],
)
def test_names_become_valid_path_components(raw, clean):
    assert names.component(raw) == clean


def test_a_long_file_name_keeps_its_extension():
    cleaned = names.component("x" * 300 + ".mp4")
    assert len(cleaned) == 255 and cleaned.endswith(".mp4")


def test_hook_on_client_updated(app, api, connected):
    globex = make_client(api, "Globex")
    run_jobs(app)
    assert (
        api.patch(f"/api/clients/{globex['id']}", json={"name": "Globex Corp"}).status_code == 200
    )
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/clients/{globex['id']}").json
    assert shown["path"] == f"{ROOT}/Clients/Globex Corp"
    assert f"{ROOT}/Clients/Globex Corp/Raw Files" in connected.paths("folder")
    assert f"{ROOT}/Clients/Globex" not in connected.paths("folder")
    api.patch(f"/api/clients/{globex['id']}", json={"notes": "VIP"})  # no new name: no move
    run_jobs(app)
    assert len(connected.calls("files/move_v2")) == 1


def test_hook_on_client_deleted(app, api, connected):
    globex = make_client(api, "Globex")
    run_jobs(app)
    assert api.delete(f"/api/clients/{globex['id']}").status_code == 204
    run_jobs(app)
    assert f"{ROOT}/Archive/Globex/Raw Files" in connected.paths("folder")
    assert f"{ROOT}/Clients/Globex" not in connected.paths("folder")
    shown = api.get(f"/api/integrations/dropbox/clients/{globex['id']}").json
    assert shown["path"] == f"{ROOT}/Archive/Globex"


def test_hook_on_service_type_created(app, api, connected):
    make_service_type(api, "Motion")
    run_jobs(app)
    assert {f"{ROOT}/Team Resources/Motion", f"{ROOT}/Templates/Motion"} <= set(
        connected.paths("folder")
    )


def test_no_client_tree_when_the_config_says_so(app, api, connected):
    api.patch("/api/integrations/dropbox", json={"auto_create_client_folders": False})
    globex = make_client(api, "Globex")
    run_jobs(app)
    assert api.get(f"/api/integrations/dropbox/clients/{globex['id']}").status_code == 404
    assert f"{ROOT}/Clients/Globex" not in connected.paths()


def test_a_configured_root_is_used(app, client, api, dropbox, hub_clock):
    connect(client, api, dropbox)
    api.patch("/api/integrations/dropbox", json={"root_path": "/Agency Files"})
    make_client(api, "Globex")
    run_jobs(app)
    assert "/Agency Files/Clients/Globex" in dropbox.paths("folder")


def test_a_move_done_whose_answer_was_lost_is_adopted_on_the_retry(app, api, connected, hub_clock):
    globex = make_client(api, "Globex")
    run_jobs(app)
    connected.fail_after("files/move_v2")  # Dropbox moves it; the answer never arrives
    api.patch(f"/api/clients/{globex['id']}", json={"name": "Globex Corp"})
    run_jobs(app)
    [run] = api.get("/api/integrations/runs?plugin=dropbox&event_type=client.updated").json["items"]
    assert run["state"] != "succeeded"
    hub_clock.advance(hours=1)
    run_jobs(app)
    [run] = api.get("/api/integrations/runs?plugin=dropbox&event_type=client.updated").json["items"]
    assert run["state"] == "succeeded"
    shown = api.get(f"/api/integrations/dropbox/clients/{globex['id']}").json
    assert shown["path"] == f"{ROOT}/Clients/Globex Corp"
    assert len(connected.calls("files/move_v2")) == 2


def test_a_service_type_given_to_a_client_later_gets_its_folders(app, api, connected):
    globex = make_client(api, "Globex")
    run_jobs(app)
    motion = make_service_type(api, "Motion")
    changed = api.patch(f"/api/clients/{globex['id']}", json={"service_type_ids": [motion["id"]]})
    assert changed.status_code == 200
    run_jobs(app)
    base = f"{ROOT}/Clients/Globex"
    assert {f"{base}/Final Deliverables/Motion", f"{base}/Work in Progress/Motion"} <= set(
        connected.paths("folder")
    )


def test_a_renamed_service_type_moves_its_folders_and_the_stored_paths(
    app, api, org, connected, hub_clock
):
    from dropbox_helpers import upload
    from mycelium_dropbox import jobs

    import hub
    from hub.extensions import db

    video = make_service_type(api, "Video")
    globex = make_client(api, "Globex", service_type_ids=[video["id"]])
    run_jobs(app)
    visible = {"client_id": globex["id"], "client_visible": "true"}
    sent = upload(api, b"cut", "cut.mp4", service_type="Video", **visible)
    assert sent.status_code == 201
    assert sent.json["path"] == f"{ROOT}/Clients/Globex/Final Deliverables/Video/cut.mp4"
    connected.fail_after("files/move_v2")  # the first move is done, its answer lost
    renamed = api.patch(f"/api/service-types/{video['id']}", json={"name": "Film"})
    assert renamed.status_code == 200
    run_jobs(app)
    [run] = api.get("/api/integrations/runs?plugin=dropbox&event_type=service_type.updated").json[
        "items"
    ]
    assert run["state"] != "succeeded"
    hub_clock.advance(hours=1)
    run_jobs(app)  # the retry: what moved already is not moved again, nor renamed (1)
    [run] = api.get("/api/integrations/runs?plugin=dropbox&event_type=service_type.updated").json[
        "items"
    ]
    assert run["state"] == "succeeded"
    base = f"{ROOT}/Clients/Globex"
    moved = {
        f"{ROOT}/Team Resources/Film",
        f"{ROOT}/Templates/Film",
        f"{base}/Final Deliverables/Film",
        f"{base}/Work in Progress/Film",
    }
    folders = set(connected.paths("folder"))
    assert moved <= folders
    assert not {p for p in folders if p.endswith("/Video") or "Film (" in p}
    new_path = f"{base}/Final Deliverables/Film/cut.mp4"
    assert connected.entry(new_path) is not None
    [listed] = api.get(f"/api/integrations/dropbox/files?client_id={globex['id']}").json["items"]
    assert listed["path"] == new_path
    # the sync knows the moved file: nothing is announced
    with app.app_context():
        jobs.scheduled_sync(hub.context_for("dropbox", org.id))
        db.session.remove()
    run_jobs(app)
    assert events_of(api, "dropbox.file_added") == events_of(api, "dropbox.file_deleted") == []
    # a later upload for the service goes to its new folder
    again = upload(api, b"v2", "cut.mp4", service_type="Film", **visible)
    assert again.json["path"] == f"{base}/Final Deliverables/Film/cut (1).mp4"
