"""Claims from the people file (OP_PEOPLE, JSON: user name -> e-mail, groups, …), read at each request:
a test changes someone's groups at the provider by rewriting the file."""

import json
import os
from pathlib import Path

from oauth2_provider.oauth2_validators import OAuth2Validator


def people() -> dict:
    return json.loads(Path(os.environ["OP_PEOPLE"]).read_text())


class PeopleValidator(OAuth2Validator):
    # The groups claim comes with the openid scope (in the ID token and the user info).
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "openid"}

    def get_additional_claims(self, request):
        person = people()[request.user.username]
        return {
            "email": person["email"],
            "email_verified": person.get("email_verified", True),
            "preferred_username": request.user.username,
            "name": person.get("name", request.user.username),
            "groups": person["groups"],
        }
