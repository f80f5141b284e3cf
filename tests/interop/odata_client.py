#!/usr/bin/env python3
"""Read iflowd's monitoring API with pyodata, SAP's generic OData v2 client.

Usage:
    odata_client.py URL --user USER --password PASSWORD browse --flow NAME
    odata_client.py URL --user USER --password PASSWORD pages --flow NAME
    odata_client.py URL --user USER --password PASSWORD sets --flow NAME
    odata_client.py URL --user USER --password PASSWORD broker --flow NAME

URL is the service root, e.g. http://127.0.0.1:8080/api/v1/. pyodata reads URL$metadata (with the
same Basic credentials as every call) and builds the entity sets, their types, keys and
navigations from it; nothing about the API is written down here. Nulls are kept as nulls, so a
null in a property $metadata declares Nullable="false" is an error.

browse: what a monitoring user does. The COMPLETED entries of endpoint NAME, newest first, one
per page ($filter, $orderby, $top, $skip, $inlinecount); the number of FAILED entries ($count);
the first FAILED entry by its key, its ErrorInformation (navigation) and error text ($value), its
MessageStoreEntries (navigation) and their bodies ($value); the DISCARDED entries of NAME; NAME's
entries with an `or` of two statuses; an entry fetched with $select whose other property is then
read on demand; the entries before and after a moment half a millisecond after the oldest one;
IntegrationRuntimeArtifacts (and a filter on the DeployedOn the API showed) and ServiceEndpoints;
and the 400 a $expand gets.

pages: NAME's entries ($select, $orderby, $inlinecount), following every __next link.

sets: the other sets a monitoring tool reads, each as $metadata describes it. The first COMPLETED
entry of NAME and its CustomHeaderProperties (navigation); AuditLogs, newest first, those with
Action LOGIN_FAILED and a UserName since the oldest record ($filter on time, user and action),
one by its key and a property read on demand; KeystoreEntries (and one by its key);
IntegrationPackages (and a property read on demand).

broker: JmsBrokers('Broker1') (role HealthCheckMonitoringDataRead), its Queues (navigation) and
the queue of endpoint NAME by its key.

Prints one JSON object on its last line and exits 0; on any error prints {"error", "httpStatus",
"odataError"} (the HTTP status and the OData error message when there was an answer) and exits 1.
"""

import argparse
import datetime
import json
import sys

import requests

try:
    import pyodata
    from pyodata.exceptions import HttpError
    from pyodata.v2.model import Config
    from pyodata.v2.service import GetEntitySetFilter
except ImportError as missing:
    print(json.dumps({"error": f"{missing}: run scripts/test to install tests/interop/requirements.txt",
                      "httpStatus": None, "odataError": None}))
    sys.exit(1)


class Session(requests.Session):
    """A requests session with a timeout on every call, remembering the URLs it asked for."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout
        self.urls = []

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(method, url, *args, **kwargs)
        self.urls.append(response.url)
        return response


def plain(entity, names):
    """An entity's properties as JSON; dates as ISO 8601, listed under "_dates"."""
    out = {}
    dates = []
    for name in names:
        value = getattr(entity, name)
        if isinstance(value, datetime.datetime):
            if value.utcoffset() is None:
                raise ValueError(f"{name} was decoded without a time zone: {value!r}")
            dates.append(name)
            value = value.isoformat()
        out[name] = value
    out["_dates"] = sorted(dates)
    return out


def property_names(service, entity_set):
    entity_type = service.schema.entity_set(entity_set).entity_type
    return [p.name for p in entity_type.proprties()]


def expected_http_error(call, status):
    """Runs `call`, which must fail with HTTP `status`; returns what the answer said."""
    try:
        call()
    except HttpError as error:
        if error.response.status_code != status:
            raise
        return {"httpStatus": status, "message": odata_message(error.response)}
    raise ValueError(f"expected HTTP {status}, the call succeeded")


def odata_message(response):
    try:
        return response.json()["error"]["message"]["value"]
    except (ValueError, KeyError, TypeError):
        return None


def describe_schema(service):
    sets = sorted(es.name for es in service.schema.entity_sets)
    keys = {}
    navigations = {}
    for name in sets:
        entity_type = service.schema.entity_set(name).entity_type
        keys[name] = [p.name for p in entity_type.key_proprties]
        navigations[name] = sorted(n.name for n in entity_type.nav_proprties)
    return {"entitySets": sets, "keys": keys, "navigations": navigations}


def browse(service, flow):
    logs = service.entity_sets.MessageProcessingLogs
    mpl = property_names(service, "MessageProcessingLogs")
    report = {"schema": describe_schema(service)}

    # The COMPLETED entries of one flow, newest first, one per page.
    pages = []
    total = None
    for skip in range(100):
        page = (
            logs.get_entities()
            .filter(Status="COMPLETED", IntegrationFlowName=flow)
            .order_by("LogEnd desc,ApplicationMessageId desc")
            .top(1)
            .skip(skip)
            .count(inline=True)
            .execute()
        )
        total = page.total_count
        if not page:
            break
        pages.append([plain(e, mpl) for e in page])
    report["completed"] = {"totalCount": total, "pages": pages}

    report["failedCount"] = logs.get_entities().filter(Status="FAILED").count().execute()

    # One failed entry by its key, its error and its stored bodies, through the navigations.
    failed = logs.get_entities().filter(Status="FAILED").top(1).execute()
    if failed:
        entry = logs.get_entity(failed[0].MessageGuid).execute()
        error = entry.nav("ErrorInformation").execute()
        stored = []
        for body in entry.nav("MessageStoreEntries").get_entities().execute():
            item = plain(body, property_names(service, "MessageStoreEntries"))
            content = body.get_value().execute()
            item["body"] = content.content.decode("utf-8")
            item["bodyContentType"] = content.headers.get("Content-Type")
            stored.append(item)
        report["failed"] = {
            "entry": plain(entry, mpl),
            "error": plain(error, property_names(service, "MessageProcessingLogErrorInformations")),
            "errorText": error.get_value().execute().content.decode("utf-8"),
            "storeEntries": stored,
        }

    report["discarded"] = [
        plain(e, mpl)
        for e in logs.get_entities().filter(Status="DISCARDED", IntegrationFlowName=flow).execute()
    ]
    either = logs.get_entities()
    either = either.filter(
        GetEntitySetFilter.and_(
            either.IntegrationFlowName == flow,
            GetEntitySetFilter.or_(either.Status == "COMPLETED", either.Status == "DISCARDED"),
        )
    )
    report["completedOrDiscarded"] = sorted(e.MessageGuid for e in either.execute())

    # $select, then a property left out, read on demand (MessageProcessingLogs('...')/Name).
    if failed:
        query = logs.get_entities().select("MessageGuid,Status")
        picked = query.filter(MessageGuid=failed[0].MessageGuid).execute()[0]
        report["selected"] = {
            "MessageGuid": picked.MessageGuid,
            "Status": picked.Status,
            "IntegrationFlowName (read on demand)": picked.IntegrationFlowName,
        }

    # Before and after a moment finer than the API's milliseconds.
    everything = logs.get_entities().order_by("LogStart asc").execute()
    moment = everything[0].LogStart + datetime.timedelta(microseconds=500)
    before = logs.get_entities()
    before = before.filter(before.LogStart < moment).execute()
    after = logs.get_entities()
    after = after.filter(after.LogStart >= moment).execute()
    report["split"] = {
        "moment": moment.isoformat(),
        "all": [plain(e, ["MessageGuid", "LogStart"]) for e in everything],
        "before": sorted(e.MessageGuid for e in before),
        "after": sorted(e.MessageGuid for e in after),
    }

    artifacts = service.entity_sets.IntegrationRuntimeArtifacts
    listed = artifacts.get_entities().order_by("Id").execute()
    report["artifacts"] = [
        plain(a, property_names(service, "IntegrationRuntimeArtifacts")) for a in listed
    ]
    if listed:
        same = artifacts.get_entities()
        same = same.filter(same.DeployedOn == listed[0].DeployedOn).count(inline=True).execute()
        report["deployedAtTheSameMoment"] = same.total_count
        one = artifacts.get_entity(listed[0].Id).select("Id").execute()
        report["artifactStatusOnDemand"] = one.Status
    report["serviceEndpoints"] = [
        plain(e, property_names(service, "ServiceEndpoints"))
        for e in service.entity_sets.ServiceEndpoints.get_entities().execute()
    ]

    report["expand"] = expected_http_error(
        lambda: logs.get_entities().expand("ErrorInformation").execute(), 400
    )
    return report


def sets(service, flow):
    report = {"schema": describe_schema(service)}
    logs = service.entity_sets.MessageProcessingLogs
    entry = logs.get_entities().filter(Status="COMPLETED", IntegrationFlowName=flow).top(1).execute()
    if entry:
        headers = entry[0].nav("CustomHeaderProperties").get_entities().execute()
        names = property_names(service, "MessageProcessingLogCustomHeaderProperties")
        report["customHeaders"] = {
            "MessageGuid": entry[0].MessageGuid,
            "properties": [plain(h, names) for h in headers],
        }
        # iflowd's own navigation, declared in $metadata: a synchronous message has no attempts.
        attempts = entry[0].nav("Attempts").get_entities().execute()
        names = property_names(service, "MessageProcessingLogAttempts")
        report["attempts"] = [plain(a, names) for a in attempts]

    audit = service.entity_sets.AuditLogs
    names = property_names(service, "AuditLogs")
    everything = audit.get_entities().execute()
    report["auditLogs"] = [plain(r, names) for r in everything]
    oldest = min(r.Timestamp for r in everything)
    failed = audit.get_entities()
    failed = failed.filter(
        GetEntitySetFilter.and_(
            failed.Action == "LOGIN_FAILED",
            failed.UserName == "mallory",
            failed.Timestamp >= oldest,
        )
    ).count(inline=True).execute()
    report["failedLogins"] = {
        "totalCount": failed.total_count,
        "records": [plain(r, names) for r in failed],
    }
    if failed:
        one = audit.get_entity(failed[0].ChangeId).select("ChangeId").execute()
        report["auditByKey"] = {"ChangeId": one.ChangeId, "Source (read on demand)": one.Source}

    keystore = service.entity_sets.KeystoreEntries
    names = property_names(service, "KeystoreEntries")
    entries = keystore.get_entities().execute()
    report["keystore"] = [plain(e, names) for e in entries]
    if entries:
        report["keystoreByKey"] = keystore.get_entity(entries[0].Hexalias).execute().Alias

    packages = service.entity_sets.IntegrationPackages
    names = property_names(service, "IntegrationPackages")
    listed = packages.get_entities().execute()
    report["packages"] = [plain(p, names) for p in listed]
    if listed:
        one = packages.get_entity(listed[0].Id).select("Id").execute()
        report["packageVersionOnDemand"] = one.Version
    return report


def broker(service, flow):
    """JmsBrokers('Broker1') as $metadata types it, and its Queues (navigation); NAME's queue."""
    names = property_names(service, "JmsBrokers")
    one = service.entity_sets.JmsBrokers.get_entity("Broker1").execute()
    queues = one.nav("Queues").get_entities().execute()
    queue_names = property_names(service, "JmsQueues")
    return {
        "broker": plain(one, names),
        "capacityType": type(one.Capacity).__name__,
        "queues": [plain(q, queue_names) for q in queues],
        "flowQueue": plain(service.entity_sets.JmsQueues.get_entity(flow).execute(), queue_names),
    }


def pages(service, flow):
    logs = service.entity_sets.MessageProcessingLogs
    first = (
        logs.get_entities()
        .filter(IntegrationFlowName=flow)
        .select("MessageGuid,ApplicationMessageId")
        .order_by("ApplicationMessageId")
        .count(inline=True)
        .execute()
    )
    sizes = [len(first)]
    ids = [e.ApplicationMessageId for e in first]
    result = first
    while result.next_url:
        result = logs.get_entities().next_url(result.next_url).execute()
        sizes.append(len(result))
        ids.extend(e.ApplicationMessageId for e in result)
    return {
        "totalCount": first.total_count,
        "pageSizes": sizes,
        "distinct": len(set(ids)),
        "first": ids[0] if ids else None,
        "last": ids[-1] if ids else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("scenario", choices=["browse", "pages", "sets", "broker"])
    parser.add_argument("--flow", required=True)
    args = parser.parse_args()

    session = Session(args.timeout)
    session.auth = (args.user, args.password)
    try:
        service = pyodata.Client(args.url, session, config=Config(retain_null=True))
        run = {"browse": browse, "pages": pages, "sets": sets, "broker": broker}[args.scenario]
        report = run(service, args.flow)
        report["requests"] = session.urls
        print(json.dumps(report))
        return 0
    except HttpError as error:
        report = {
            "error": f"HttpError: {error}",
            "httpStatus": error.response.status_code,
            "odataError": odata_message(error.response),
        }
    except Exception as error:  # noqa: BLE001 - every failure is reported the same way
        report = {"error": f"{type(error).__name__}: {error}", "httpStatus": None, "odataError": None}
    report["requests"] = session.urls
    print(json.dumps(report))
    print(report["error"], file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
