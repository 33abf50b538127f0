"""Python google-auth against a sourced `effect-adc emulator` env: prints one JSON
object, check name -> the token kind obtained and the echo service's HTTP status.
Works with Debian's google-auth 1.5 (pads its JWT assertions) and current 2.x."""
import json
import os
import sys

import google.auth
import google.oauth2.credentials
import google.oauth2.service_account as service_account
import requests
from google.auth.transport.requests import Request

audience = sys.argv[1]
key_file = sys.argv[2]
user_file = sys.argv[3]
request = Request()
results = {"version": getattr(google.auth, "__version__", "1.x")}


def call(token):
    return requests.get(audience, headers={"Authorization": "Bearer " + token}).status_code


def kind(token):
    return "id" if token.startswith("eyJ") else "access" if token.startswith("ya29.") else "other"


def check(name, get_token):
    try:
        token = get_token()
        results[name] = {"kind": kind(token), "status": call(token) if kind(token) == "id" else None}
    except Exception as error:  # reported, and the test fails on it
        results[name] = {"error": type(error).__name__ + ": " + str(error)[:300]}


def metadata_access():
    credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    credentials.refresh(request)
    results["metadata_project"] = project
    return credentials.token


def metadata_id():
    import google.oauth2.id_token
    return google.oauth2.id_token.fetch_id_token(request, audience)


def key_access():
    credentials = service_account.Credentials.from_service_account_file(
        key_file, scopes=["https://www.googleapis.com/auth/cloud-platform"])
    credentials.refresh(request)
    return credentials.token


def key_id():
    credentials = service_account.IDTokenCredentials.from_service_account_file(key_file, target_audience=audience)
    credentials.refresh(request)
    return credentials.token


def user_access():
    credentials = google.oauth2.credentials.Credentials.from_authorized_user_file(user_file)
    credentials.refresh(request)
    return credentials.token


def user_id():
    credentials = google.oauth2.credentials.Credentials.from_authorized_user_file(user_file)
    credentials.refresh(request)
    return credentials.id_token


check("metadata_access", metadata_access)
if hasattr(__import__("google.oauth2.id_token").oauth2.id_token, "fetch_id_token"):
    check("metadata_id", metadata_id)
check("key_access", key_access)
check("key_id", key_id)
check("user_access", user_access)
check("user_id", user_id)
results["home"] = os.environ.get("HOME")
print(json.dumps(results))
