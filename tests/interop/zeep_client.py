#!/usr/bin/env python3
"""Send one SuccessFactors "Change in Manager" ExternalEvent to iflowd with zeep.

Usage:
    zeep_client.py URL EXTERNAL_EVENT_ID --user USER --password PASSWORD
                   [--soap12] [--user-id 103221] [--wsdl-file PATH] [--cacert PEM]

URL is the endpoint, e.g. http://127.0.0.1:8080/cxf/isc/events. The WSDL is loaded from
URL?wsdl with the same Basic credentials the call uses, unless --wsdl-file names a local copy (its
soap:address is then replaced by URL). --soap12 binds the SOAP 1.2 port NotifyImplSoap12Port.
For https URLs, --cacert names the PEM certificate to trust (e.g. the cert.pem of `iflowd cert`).

On success prints {"status", "statusDetails", "statusDate", "errorCode", "messageProcessingLogId",
"contentType"} as JSON (the last two from the HTTP answer's headers) and exits 0. On any error prints {"error", "httpStatus"} as JSON (httpStatus null when there was no
HTTP answer) and exits 1.
"""

import argparse
import json
import sys
import uuid

import requests
from requests.auth import HTTPBasicAuth
from zeep import Client, Plugin
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport

SERVICE = "NotifyImplService"
PORT_11 = "NotifyImplPort"
PORT_12 = "NotifyImplSoap12Port"
BINDING_11 = "{http://notification.event.successfactors.com}NotifyImplServiceSoapBinding"
BINDING_12 = "{http://notification.event.successfactors.com}NotifyImplServiceSoap12Binding"
MANAGER_CHANGED = "com.successfactors.Employment.JobInformation.ManagerChanged"


class ResponseHeaders(Plugin):
    """Keeps the HTTP headers of the last answer, for SAP_MessageProcessingLogID."""

    def __init__(self):
        self.headers = requests.structures.CaseInsensitiveDict()

    def ingress(self, envelope, http_headers, operation):
        self.headers = http_headers  # case-insensitive: the server sends names in lower case
        return envelope, http_headers


def change_in_manager(external_event_id, user_id):
    """The ExternalEvent a SuccessFactors Change in Manager push carries."""
    start_date = "2026-12-01"
    published_at = "1763712000123"
    return {
        "externalEventMeta": {
            "externalEventId": external_event_id,
            "type": MANAGER_CHANGED,
            "publishedAt": published_at,
            "publishedBy": "sfadmin",
            "effective": "current",
            "repost": False,
        },
        "events": {
            "event": [
                {
                    "eventId": str(uuid.uuid4()),
                    "entityType": "EmpJob",
                    "effectiveStartDate": start_date,
                    "publishedAt": int(published_at),
                    "publishedBy": "sfadmin",
                    "repost": False,
                    "entityKeys": {
                        "entityKey": [
                            {"name": "seqNumber", "value": "1"},
                            {"name": "userId", "value": user_id},
                            {"name": "startDate", "value": start_date},
                        ]
                    },
                    "params": {"param": [{"name": "personIdExternal", "value": user_id}]},
                }
            ]
        },
    }


def http_status_of(error):
    if isinstance(error, TransportError):
        return error.status_code
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return error.response.status_code
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("external_event_id")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--soap12", action="store_true")
    parser.add_argument("--user-id", default="103221")
    parser.add_argument("--wsdl-file")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--cacert")
    args = parser.parse_args()

    session = requests.Session()
    session.auth = HTTPBasicAuth(args.user, args.password)
    if args.cacert:
        session.verify = args.cacert
        # Otherwise requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify.
        session.trust_env = False
    transport = Transport(session=session, timeout=args.timeout, operation_timeout=args.timeout)
    headers = ResponseHeaders()
    try:
        if args.wsdl_file:
            client = Client(args.wsdl_file, transport=transport, plugins=[headers])
            binding = BINDING_12 if args.soap12 else BINDING_11
            service = client.create_service(binding, args.url)
        else:
            client = Client(args.url + "?wsdl", transport=transport, plugins=[headers])
            service = client.bind(SERVICE, PORT_12 if args.soap12 else PORT_11)
        result = service.ExternalEvent(**change_in_manager(args.external_event_id, args.user_id))
        # ExternalEventResponse has a single child, so zeep hands back responsePayload itself.
        payload = result
        if payload is None:
            raise ValueError("the answer has no responsePayload")
        status_date = payload.statusDate
        print(
            json.dumps(
                {
                    "status": payload.status,
                    "statusDetails": payload.statusDetails,
                    "statusDate": status_date.isoformat() if status_date else None,
                    "errorCode": payload.errorCode,
                    "messageProcessingLogId": headers.headers.get("SAP_MessageProcessingLogID"),
                    "contentType": headers.headers.get("Content-Type"),
                }
            )
        )
        return 0
    except Fault as fault:
        report = {"error": f"SOAP fault {fault.code}: {fault.message}", "httpStatus": None}
    except Exception as error:  # noqa: BLE001 - every failure is reported the same way
        report = {"error": f"{type(error).__name__}: {error}", "httpStatus": http_status_of(error)}
    print(json.dumps(report))
    print(report["error"], file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
