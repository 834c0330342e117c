"""Does the harness itself work? A logged-in admin reaches the admin pages."""

from tests.conftest import log_in


def test_admin_sees_users_page(client, db_session, make_user):
    admin = make_user("admin")
    log_in(client, admin, db_session)
    response = client.get("/admin/users")
    assert response.status_code == 200
    assert admin.email in response.get_data(as_text=True)
