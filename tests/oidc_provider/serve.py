"""Run the test provider: `python -m tests.oidc_provider.serve PORT` with OP_DATABASE, OP_RSA_KEY_FILE,
OP_PEOPLE, OP_CLIENT_ID, OP_CLIENT_SECRET and OP_REDIRECT_URIS (space-separated) in the environment.
Makes its RSA key, database, users (from the people file, each with its `password`) and the one
confidential client, then serves until terminated."""

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def main(port: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    Path(os.environ["OP_RSA_KEY_FILE"]).write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    from tests.oidc_provider.validators import people

    call_command("migrate", verbosity=0)
    for username, person in people().items():
        User.objects.create_user(username, email=person["email"], password=person["password"])
    Application.objects.create(
        name="SupportDesk",
        client_id=os.environ["OP_CLIENT_ID"],
        client_secret=os.environ["OP_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["OP_REDIRECT_URIS"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True, skip_checks=True)


if __name__ == "__main__":
    main(sys.argv[1])
