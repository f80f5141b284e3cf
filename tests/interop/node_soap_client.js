#!/usr/bin/env node
// Send one SuccessFactors "Change in Manager" ExternalEvent to iflowd with node-soap.
//
// Usage:
//   node node_soap_client.js URL EXTERNAL_EVENT_ID --user USER --password PASSWORD
//                            [--soap12] [--user-id 103221] [--wsdl-file PATH] [--cacert PEM]
//
// URL is the endpoint, e.g. http://127.0.0.1:8080/cxf/isc/events. The WSDL is loaded from
// URL?wsdl with the same Basic credentials the call uses, unless --wsdl-file names a local copy
// (the call then goes to URL). --soap12 calls through the SOAP 1.2 port NotifyImplSoap12Port with
// node-soap's forceSoap12Headers (application/soap+xml and a SOAP 1.2 envelope). For https URLs,
// --cacert names the PEM certificate to trust (e.g. the cert.pem of `iflowd cert`), for the WSDL
// and the call alike.
//
// On success prints {status, statusDetails, statusDate, errorCode, messageProcessingLogId,
// contentType} as JSON (the last two from the HTTP answer's headers) and exits 0. On any error
// prints {error, httpStatus} as JSON (httpStatus null when there was no HTTP answer) and exits 1.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const { parseArgs } = require('node:util');
const soap = require('soap');

const SERVICE = 'NotifyImplService';
const PORT_11 = 'NotifyImplPort';
const PORT_12 = 'NotifyImplSoap12Port';
const MANAGER_CHANGED = 'com.successfactors.Employment.JobInformation.ManagerChanged';

function changeInManager(externalEventId, userId) {
  const startDate = '2026-12-01';
  const publishedAt = '1763712000123';
  return {
    externalEventMeta: {
      externalEventId,
      type: MANAGER_CHANGED,
      publishedAt,
      publishedBy: 'sfadmin',
      effective: 'current',
      repost: false,
    },
    events: {
      event: [
        {
          eventId: crypto.randomUUID(),
          entityType: 'EmpJob',
          effectiveStartDate: startDate,
          publishedAt,
          publishedBy: 'sfadmin',
          repost: false,
          entityKeys: {
            entityKey: [
              { name: 'seqNumber', value: '1' },
              { name: 'userId', value: userId },
              { name: 'startDate', value: startDate },
            ],
          },
          params: { param: [{ name: 'personIdExternal', value: userId }] },
        },
      ],
    },
  };
}

function httpStatusOf(error) {
  // A failed call carries the HTTP client's response; a WSDL that could not be fetched only says
  // "Invalid WSDL URL: ... Code: 401 ..." in its message.
  const response = error && error.response;
  if (response && typeof response.status === 'number') return response.status;
  const code = /Code: (\d{3})/.exec((error && error.message) || '');
  return code ? Number(code[1]) : null;
}

function describe(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  // node-soap rejects with a plain { Fault, response, body } when the answer is not XML.
  if (error && error.Fault) {
    const { faultcode, faultstring, detail } = error.Fault;
    const body = typeof error.body === 'string' ? ` (body: ${error.body})` : '';
    return `SOAP fault ${faultcode}: ${faultstring}: ${detail}${body}`;
  }
  return String(error);
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      password: { type: 'string' },
      soap12: { type: 'boolean', default: false },
      'user-id': { type: 'string', default: '103221' },
      'wsdl-file': { type: 'string' },
      timeout: { type: 'string', default: '30000' },
      cacert: { type: 'string' },
    },
  });
  if (positionals.length !== 2 || values.user === undefined || values.password === undefined) {
    throw new Error(
      'usage: node_soap_client.js URL EXTERNAL_EVENT_ID --user USER --password PASSWORD [--soap12]',
    );
  }
  const [url, externalEventId] = positionals;
  const timeout = Number(values.timeout);
  const authorization =
    'Basic ' + Buffer.from(`${values.user}:${values.password}`, 'utf8').toString('base64');

  const httpsAgent = values.cacert
    ? new https.Agent({ ca: fs.readFileSync(values.cacert) })
    : undefined;
  const client = await soap.createClientAsync(values['wsdl-file'] || `${url}?wsdl`, {
    wsdl_headers: { Authorization: authorization },
    wsdl_options: { timeout, httpsAgent },
    endpoint: values['wsdl-file'] ? url : undefined,
    forceSoap12Headers: values.soap12,
  });
  client.setSecurity(new soap.BasicAuthSecurity(values.user, values.password));
  const port = client[SERVICE][values.soap12 ? PORT_12 : PORT_11];
  const call = (args) =>
    new Promise((resolve, reject) => {
      port.ExternalEvent(
        args,
        (error, result) => (error ? reject(error) : resolve(result)),
        { timeout, httpsAgent },
      );
    });
  const result = await call(changeInManager(externalEventId, values['user-id']));
  const payload = result && result.responsePayload;
  if (!payload) {
    throw new Error(`the answer has no responsePayload: ${JSON.stringify(result)}`);
  }
  const headers = client.lastResponseHeaders || {};
  return {
    status: payload.status,
    statusDetails: payload.statusDetails,
    statusDate: payload.statusDate instanceof Date ? payload.statusDate.toISOString() : payload.statusDate,
    errorCode: payload.errorCode === undefined ? null : payload.errorCode,
    messageProcessingLogId: headers['sap_messageprocessinglogid'] || null,
    contentType: headers['content-type'] || null,
  };
}

main().then(
  (report) => {
    process.stdout.write(JSON.stringify(report) + '\n');
  },
  (error) => {
    const report = { error: describe(error), httpStatus: httpStatusOf(error) };
    process.stdout.write(JSON.stringify(report) + '\n');
    process.stderr.write(report.error + '\n');
    process.exitCode = 1;
  },
);
