def test_me(api, org):
    response = api.get("/api/me")
    assert response.status_code == 200
    assert response.json["org"]["slug"] == org.org.slug
    assert response.json["role"] == "admin"


def test_create_client_writes_event(api):
    response = api.post(
        "/api/clients", json={"name": "Globex", "contact_email": "a@globex.example"}
    )
    assert response.status_code == 201, response.json
    events = api.get("/api/events").json["items"]
    assert [e["type"] for e in events] == ["client.created"]
    assert events[0]["data"]["name"] == "Globex"
